package io.berth.agent.shim;

import io.berth.agent.container.ContainerPlan;
import io.berth.agent.container.ContainerRuntime;
import io.berth.agent.domain.BerthException;
import io.berth.agent.log.Log;
import io.berth.shim.api.CgroupSpec;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.ExecRequest;
import io.berth.shim.api.ExitRecord;
import io.berth.shim.api.Mount;
import io.berth.shim.api.NamespaceRef;
import io.berth.shim.api.ProcessSpec;
import io.berth.shim.api.Resources;
import io.berth.shim.api.Rootfs;
import io.berth.shim.api.Seccomp;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.ShimException;
import io.berth.shim.api.ShimLauncher;
import io.berth.shim.api.State;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * {@link ContainerRuntime} over real shims: one detached shim JVM per container, reached through
 * its bundle directory (socket, pid file, durable exit record). Translates the agent's plan into
 * the shim's spec, the last step of CRI → domain → shim (STYLE.md item 4).
 */
public final class ShimRuntime implements ContainerRuntime {
    private static final Log LOG = Log.get(ShimRuntime.class);

    private final Path shimLibDir;
    private final String reportSocket;
    private final int statsIntervalMs;

    public ShimRuntime(Path shimLibDir) {
        this(shimLibDir, null, Duration.ZERO);
    }

    /** Shims report to {@code reportSocket} ({@link ShimReports}), a stats sample every {@code statsInterval}. */
    public ShimRuntime(Path shimLibDir, Path reportSocket, Duration statsInterval) {
        this.shimLibDir = shimLibDir;
        this.reportSocket = reportSocket == null ? "" : reportSocket.toString();
        this.statsIntervalMs = (int) statsInterval.toMillis();
    }

    @Override
    public void create(ContainerPlan plan) {
        try {
            ShimLauncher.launch(shimLibDir, Path.of(plan.bundleDir()), spec(plan).toBuilder()
                    .setReportSocket(reportSocket).setStatsIntervalMs(statsIntervalMs).build());
        } catch (ShimException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, e.getMessage() + " (bundle " + plan.bundleDir() + ")", e);
        } catch (IOException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "launch shim for container " + plan.id() + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void start(String bundle) {
        call(bundle, "start", client -> {
            client.start();
            return null;
        });
    }

    @Override
    public void kill(String bundle, int signal, boolean all) {
        ShimClient client = ShimClient.connect(Path.of(bundle));
        if (!client.alive()) {
            return; // nothing left to signal; observe() reports how it ended
        }
        try {
            client.kill(signal, all);
        } catch (ShimException e) {
            if (client.alive()) {
                throw new BerthException(BerthException.Kind.INTERNAL, "signal " + signal + " to container in "
                        + bundle + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The exit record first (durable, written before the shim reports anything), then whether the
     * shim is still there, then its live state.
     */
    @Override
    public Observed observe(String bundle) {
        ShimClient client = ShimClient.connect(Path.of(bundle));
        try {
            ExitRecord exit = client.exitRecord();
            if (exit != null) {
                return exited(exit);
            }
            if (!client.alive()) {
                exit = client.exitRecord(); // it may have exited between the two looks
                return exit != null ? exited(exit) : new Observed(Observed.Phase.LOST, 0, 0, 0, 0, "", "");
            }
            State s = client.state();
            return switch (s.getStatus()) {
                case CREATED -> new Observed(Observed.Phase.CREATED, s.getPid(), 0, 0, 0, "", "");
                case RUNNING -> new Observed(Observed.Phase.RUNNING, s.getPid(), s.getStartedAt(), 0, 0, "", "");
                case EXITED -> new Observed(Observed.Phase.EXITED, s.getPid(), s.getStartedAt(), s.getFinishedAt(),
                        s.getExitCode(), s.getReason(), s.getMessage());
                case UNRECOGNIZED -> throw new IllegalStateException("shim in " + bundle + " reports an unknown state");
            };
        } catch (ShimException e) {
            if (!client.alive()) {
                return new Observed(Observed.Phase.LOST, 0, 0, 0, 0, "", "");
            }
            throw new BerthException(BerthException.Kind.UNAVAILABLE, "ask the shim in " + bundle + " for its state: "
                    + e.getMessage(), e);
        }
    }

    private static Observed exited(ExitRecord e) {
        return new Observed(Observed.Phase.EXITED, e.getPid(), e.getStartedAt(), e.getFinishedAt(), e.getExitCode(),
                e.getReason(), e.getMessage());
    }

    @Override
    public ExecResult exec(String bundle, List<String> args, Duration timeout) {
        var response = call(bundle, "exec", client -> client.exec(ExecRequest.newBuilder()
                .addAllArgs(args)
                .setTimeoutMs(timeout.toMillis())
                .build()));
        return new ExecResult(response.getExitCode(), response.getStdout().toByteArray(),
                response.getStderr().toByteArray(), response.getTimedOut());
    }

    @Override
    public void updateResources(String bundle, ContainerPlan.Resources resources) {
        call(bundle, "update resources", client -> {
            client.updateResources(resources(resources));
            return null;
        });
    }

    @Override
    public void reopenLog(String bundle) {
        call(bundle, "reopen log", client -> {
            client.reopenLog();
            return null;
        });
    }

    @Override
    public void delete(String bundle) {
        Path dir = Path.of(bundle);
        try {
            if (Files.exists(dir)) {
                ShimLauncher.cleanup(dir);
            }
            io.berth.agent.util.FileTrees.delete(dir);
        } catch (IOException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "clean up container bundle " + bundle + ": "
                    + e.getMessage(), e);
        }
    }

    @FunctionalInterface
    private interface ShimCall<T> {
        T run(ShimClient client) throws ShimException;
    }

    private static <T> T call(String bundle, String what, ShimCall<T> call) {
        ShimClient client = ShimClient.connect(Path.of(bundle));
        try {
            return call.run(client);
        } catch (ShimException e) {
            var kind = client.alive() ? BerthException.Kind.INTERNAL : BerthException.Kind.FAILED_PRECONDITION;
            throw new BerthException(kind, what + " in container bundle " + bundle
                    + (client.alive() ? "" : " (its shim is gone)") + ": " + e.getMessage(), e);
        }
    }

    static ContainerSpec spec(ContainerPlan p) {
        var process = ProcessSpec.newBuilder()
                .addAllArgs(p.args())
                .addAllEnv(p.env())
                .setCwd(p.cwd())
                .setUid((int) p.uid())
                .setGid((int) p.gid())
                .addAllAdditionalGids(p.additionalGids().stream().map(Long::intValue).toList())
                .setTty(p.tty())
                .setStdin(p.stdin())
                .setStdinOnce(p.stdinOnce())
                .setNoNewPrivileges(p.noNewPrivileges())
                .addAllCapabilities(p.capabilities())
                .setOomScoreAdj((int) p.oomScoreAdj())
                .setSeccomp(Seccomp.newBuilder()
                        .setKind(Seccomp.Kind.valueOf(p.seccomp().kind().name()))
                        .setProfilePath(p.seccomp().localhostProfile()));
        var spec = ContainerSpec.newBuilder()
                .setId(p.id())
                .setBundle(p.bundleDir())
                .setRootfs(Rootfs.newBuilder().addAllLowerDirs(p.lowerDirs()).setUpperDir(p.upperDir())
                        .setWorkDir(p.workDir()).setReadonly(p.readonlyRootfs()))
                .setProcess(process)
                .setPrivileged(p.privileged())
                .setHostname(p.hostname())
                .addAllMaskedPaths(p.maskedPaths())
                .addAllReadonlyPaths(p.readonlyPaths())
                .setCgroup(CgroupSpec.newBuilder().setParent(p.cgroupParent()).setName(p.id()))
                .setResources(resources(p.resources()))
                .setLogPath(p.logPath());
        for (var ns : p.namespaces()) {
            spec.addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.valueOf(ns.type())).setPath(ns.path()));
        }
        for (var m : p.mounts()) {
            spec.addMounts(Mount.newBuilder()
                    .setSource(m.source())
                    .setDestination(m.destination())
                    .setType(m.type())
                    .addAllOptions(m.options())
                    .setPropagation(Mount.Propagation.valueOf(m.propagation().toUpperCase(Locale.ROOT)))
                    .setReadonly(m.readonly()));
        }
        return spec.build();
    }

    static Resources resources(ContainerPlan.Resources r) {
        return Resources.newBuilder()
                .setCpuShares(r.cpuShares())
                .setCpuQuota(r.cpuQuota())
                .setCpuPeriod(r.cpuPeriod())
                .setCpusetCpus(r.cpusetCpus())
                .setCpusetMems(r.cpusetMems())
                .setMemoryLimitBytes(r.memoryLimitBytes())
                .setPidsLimit(r.pidsLimit())
                .putAllHugepageLimits(r.hugepageLimits())
                .putAllUnified(r.unified())
                .build();
    }
}
