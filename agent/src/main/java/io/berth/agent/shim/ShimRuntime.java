package io.berth.agent.shim;

import com.google.protobuf.ByteString;
import io.berth.agent.container.ContainerPlan;
import io.berth.agent.container.ContainerRuntime;
import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import io.berth.agent.host.CgroupPaths;
import io.berth.agent.log.Log;
import io.berth.kernel.Processes;
import io.berth.kernel.cgroup.Cgroup;
import io.berth.kernel.seccomp.OciSeccomp;
import io.berth.kernel.seccomp.RuntimeDefault;
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
import io.berth.shim.api.ShimPool;
import io.berth.shim.api.State;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@link ContainerRuntime} over real shims: one detached shim JVM per container, reached through
 * its bundle directory (socket, pid file, durable exit record). Translates the agent's plan into
 * the shim's spec, the last step of CRI → domain → shim (STYLE.md item 4).
 */
public final class ShimRuntime implements ContainerRuntime {
    private static final Log LOG = Log.get(ShimRuntime.class);

    private final Path shimLibDir;
    private final CgroupDriver driver;
    private final ShimPool pool;
    private final String reportSocket;
    private final int statsIntervalMs;
    private final ContainerSpec.ProcMount procMount;
    private final boolean shareMemory;

    /** Every container launches its own shim JVM; shims report nowhere (tests, tools). */
    public ShimRuntime(Path shimLibDir, CgroupDriver driver) {
        this(shimLibDir, driver, null, null, Duration.ZERO, false, true);
    }

    private ShimRuntime(Path shimLibDir, CgroupDriver driver, ShimPool pool, Path reportSocket, Duration statsInterval,
            boolean procHelper, boolean shareMemory) {
        this.shimLibDir = shimLibDir;
        this.driver = driver;
        this.pool = pool;
        this.reportSocket = reportSocket == null ? "" : reportSocket.toString();
        this.statsIntervalMs = (int) statsInterval.toMillis();
        this.procMount = procHelper ? ContainerSpec.ProcMount.HELPER : ContainerSpec.ProcMount.AUTO;
        this.shareMemory = shareMemory;
    }

    /**
     * Containers go to idle shims started ahead ({@link ShimPool}; {@code poolSize} 0: none), and
     * their shims report to {@code reportSocket} ({@code ShimReports}), a stats sample every {@code statsInterval}.
     * With {@code procHelper} every shim mounts /proc through a helper process, as kernels before
     * 6.18 need (the agent's {@code proc_mount = "helper"}); else only where the kernel needs it.
     * With {@code shareMemory} shims share the memory they have alike ({@code ShimJvm}; the agent's
     * {@code shim_memory_sharing}).
     */
    public static ShimRuntime withPool(Path shimLibDir, Path poolDir, int poolSize, CgroupDriver driver,
            Path reportSocket, Duration statsInterval, boolean procHelper, boolean shareMemory) {
        ShimPool pool = null;
        if (poolSize > 0) {
            try {
                pool = ShimPool.start(shimLibDir, poolDir, poolSize, shareMemory);
            } catch (IOException | RuntimeException e) {
                // Containers still run, each launching its own shim; only their start-up is slower.
                LOG.warn("no idle shims: " + e.getMessage(), "shim_dir", shimLibDir, "pool_dir", poolDir);
            }
        }
        return new ShimRuntime(shimLibDir, driver, pool, reportSocket, statsInterval, procHelper, shareMemory);
    }

    /** Stops the idle shims (shims that run containers are not touched). */
    public void close() {
        if (pool != null) pool.close();
    }

    @Override
    public void create(ContainerPlan plan) {
        try {
            ContainerSpec spec = spec(plan, driver).toBuilder()
                    .setReportSocket(reportSocket).setStatsIntervalMs(statsIntervalMs).setProcMount(procMount).build();
            if (pool != null) {
                pool.launch(Path.of(plan.bundleDir()), spec);
            } else {
                ShimLauncher.launch(shimLibDir, Path.of(plan.bundleDir()), spec, shareMemory);
            }
        } catch (ShimException e) {
            throw new BerthException(kind(e, true), e.getMessage() + " (bundle " + plan.bundleDir() + ")", e);
        } catch (IOException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "launch shim for container " + plan.id() + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public Observed start(String bundle) {
        State s = call(bundle, "start", ShimClient::start);
        return s == null ? observe(bundle) : observed(s, bundle);
    }

    @Override
    public void kill(String bundle, int signal, boolean all) {
        signal(bundle, signal, null, client -> {
            client.kill(signal, all);
            return null;
        });
    }

    /**
     * Sends {@code signal} through the shim by {@code call}; {@code whenGone} when the shim is gone,
     * before or during the exchange (nothing left to signal: observe() reports how it ended).
     */
    private static <T> T signal(String bundle, int signal, T whenGone, ShimCall<T> call) {
        ShimClient client = ShimClient.connect(Path.of(bundle));
        if (!client.alive()) {
            return whenGone;
        }
        try {
            return call.run(client);
        } catch (ShimException e) {
            if (client.alive()) {
                throw new BerthException(BerthException.Kind.INTERNAL, "signal " + signal + " to container in "
                        + bundle + ": " + e.getMessage(), e);
            }
            return whenGone;
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
                return exit != null ? exited(exit) : lost(bundle);
            }
            return observed(client.state(), bundle);
        } catch (ShimException e) {
            if (!client.alive()) {
                return lost(bundle);
            }
            throw new BerthException(BerthException.Kind.UNAVAILABLE, "ask the shim in " + bundle + " for its state: "
                    + e.getMessage(), e);
        }
    }

    /**
     * The container's process as the shim reports it, with its start time read from /proc in
     * between two looks at the shim: running at both with the same pid, the process was the
     * container's throughout, so the start time is its own.
     */
    @Override
    public java.util.Optional<ContainerPlan.NamespaceJoin> pidNamespace(String bundle) {
        Observed before = observe(bundle);
        if (before.phase() != Observed.Phase.RUNNING || before.pid() <= 0) {
            return java.util.Optional.empty();
        }
        long startTime = Processes.startTime(before.pid());
        Observed after = observe(bundle);
        if (startTime < 0 || after.phase() != Observed.Phase.RUNNING || after.pid() != before.pid()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new ContainerPlan.NamespaceJoin("PID", "/proc/" + before.pid() + "/ns/pid",
                before.pid(), startTime));
    }

    private static Observed observed(State s, String bundle) {
        return switch (s.getStatus()) {
            case CREATED -> new Observed(Observed.Phase.CREATED, s.getPid(), 0, 0, 0, "", "");
            case RUNNING -> new Observed(Observed.Phase.RUNNING, s.getPid(), s.getStartedAt(), 0, 0, "", "");
            case EXITED -> new Observed(Observed.Phase.EXITED, s.getPid(), s.getStartedAt(), s.getFinishedAt(),
                    s.getExitCode(), s.getReason(), s.getMessage());
            case UNRECOGNIZED -> throw new IllegalStateException("shim in " + bundle + " reports an unknown state");
        };
    }

    /**
     * The shim died without recording an exit (kill -9): its container's processes may still run,
     * unwatched and unlogged. End them and remove the container's cgroup, so that "exited" is true.
     */
    private static Observed lost(String bundle) {
        try {
            ShimLauncher.cleanup(Path.of(bundle));
        } catch (IOException e) {
            LOG.warn("could not end the processes of a container whose shim died", "bundle", bundle, "error", e.getMessage());
        }
        return new Observed(Observed.Phase.LOST, 0, 0, 0, 0, "", "");
    }

    @Override
    public boolean awaitExit(String bundle, Duration timeout) {
        ShimClient client = ShimClient.connect(Path.of(bundle));
        try {
            return client.await(timeout).getStatus() == State.Status.EXITED;
        } catch (ShimException e) {
            // Gone without an exit record (killed): observe() reports it LOST, which ends the wait.
            // A shim that cannot answer this request (an older one) leaves the caller to poll.
            return !client.alive();
        }
    }

    @Override
    public boolean killAndAwaitExit(String bundle, int signal, Duration timeout) {
        // Null: a shim of an older berth signalled without waiting.
        Boolean exited = signal(bundle, signal, true, client -> {
            State s = client.killAndAwait(signal, timeout);
            return s == null ? null : s.getStatus() == State.Status.EXITED;
        });
        return exited == null ? awaitExit(bundle, timeout) : exited;
    }

    private static Observed exited(ExitRecord e) {
        return new Observed(Observed.Phase.EXITED, e.getPid(), e.getStartedAt(), e.getFinishedAt(), e.getExitCode(),
                e.getReason(), e.getMessage());
    }

    @Override
    public ExecResult exec(String bundle, List<String> args, Duration timeout) {
        var response = call(bundle, "exec", client -> client.exec(ExecRequest.newBuilder()
                .addAllArgs(List.copyOf(args))
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
            throw new BerthException(kind(e, client.alive()), what + " in container bundle " + bundle
                    + (client.alive() ? "" : " (its shim is gone)") + ": " + e.getMessage(), e);
        }
    }

    /**
     * A shim's failure as a status: the node's set-up (a limit whose cgroup controller it lacks)
     * or a shim that is gone is a failed precondition; anything else is ours.
     */
    private static BerthException.Kind kind(ShimException e, boolean shimAlive) {
        return !shimAlive || e.getMessage().contains(Cgroup.CONTROLLER_NOT_ENABLED)
                ? BerthException.Kind.FAILED_PRECONDITION : BerthException.Kind.INTERNAL;
    }

    /**
     * The plan's seccomp profile, compiled here rather than in the shim, whose interpreted code took
     * ~5 ms of every shim start to compile RuntimeDefault: RuntimeDefault once per capability set,
     * a Localhost profile from its file at each create, so that a profile that is missing or that
     * does not parse is the request's error (INVALID_ARGUMENT, naming the file), not the shim's.
     */
    private static Seccomp.Builder seccomp(ContainerPlan p) {
        var seccomp = Seccomp.newBuilder()
                .setKind(Seccomp.Kind.valueOf(p.seccomp().kind().name()))
                .setProfilePath(p.seccomp().localhostProfile());
        if (p.privileged()) {
            return seccomp;
        }
        switch (p.seccomp().kind()) {
            case RUNTIME_DEFAULT -> seccomp.setFilter(ByteString.copyFrom(RuntimeDefault.filter(p.capabilities())));
            case LOCALHOST -> seccomp.setFilter(ByteString.copyFrom(localhostFilter(p)));
            case UNCONFINED -> { }
        }
        return seccomp;
    }

    private static byte[] localhostFilter(ContainerPlan p) {
        try {
            return OciSeccomp.compile(Path.of(p.seccomp().localhostProfile()), Set.copyOf(p.capabilities()));
        } catch (IOException e) {
            throw BerthException.invalid(e.getMessage());
        }
    }

    /*
     * Every list handed to a shim message is copied (List.copyOf): the shim protocol is lite
     * protobuf, and a lite builder's addAll casts its own list to LazyStringList when it is given
     * one (a CRI message's string list, full runtime), which fails.
     */
    static ContainerSpec spec(ContainerPlan p, CgroupDriver driver) {
        var process = ProcessSpec.newBuilder()
                .addAllArgs(List.copyOf(p.args()))
                .addAllEnv(List.copyOf(p.env()))
                .setCwd(p.cwd())
                .setUid((int) p.uid())
                .setGid((int) p.gid())
                .addAllAdditionalGids(p.additionalGids().stream().map(Long::intValue).toList())
                .setTty(p.tty())
                .setStdin(p.stdin())
                .setStdinOnce(p.stdinOnce())
                .setNoNewPrivileges(p.noNewPrivileges())
                .addAllCapabilities(List.copyOf(p.capabilities()))
                .setOomScoreAdj((int) p.oomScoreAdj())
                .setSeccomp(seccomp(p));
        var spec = ContainerSpec.newBuilder()
                .setId(p.id())
                .setBundle(p.bundleDir())
                .setRootfs(Rootfs.newBuilder().addAllLowerDirs(List.copyOf(p.lowerDirs())).setUpperDir(p.upperDir())
                        .setWorkDir(p.workDir()).setReadonly(p.readonlyRootfs()))
                .setProcess(process)
                .setPrivileged(p.privileged())
                .setHostname(p.hostname())
                .addAllMaskedPaths(List.copyOf(p.maskedPaths()))
                .addAllReadonlyPaths(List.copyOf(p.readonlyPaths()))
                .setCgroup(CgroupSpec.newBuilder().setParent(CgroupPaths.parent(p.cgroupParent(), driver))
                        .setName(CgroupPaths.containerName(p.id(), driver)))
                .setResources(resources(p.resources()))
                .setLogPath(p.logPath());
        for (var ns : p.namespaces()) {
            spec.addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.valueOf(ns.type())).setPath(ns.path())
                    .setOwnerPid(ns.ownerPid()).setOwnerStartTime(ns.ownerStartTime()));
        }
        for (var d : p.devices()) {
            spec.addDevices(io.berth.shim.api.Device.newBuilder()
                    .setPath(d.path())
                    .setType(d.type())
                    .setMajor(d.major())
                    .setMinor(d.minor())
                    .setFileMode(d.fileMode())
                    .setUid((int) d.uid())
                    .setGid((int) d.gid())
                    .setPermissions(d.permissions()));
        }
        for (var m : p.mounts()) {
            spec.addMounts(Mount.newBuilder()
                    .setSource(m.source())
                    .setDestination(m.destination())
                    .setType(m.type())
                    .addAllOptions(List.copyOf(m.options()))
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
