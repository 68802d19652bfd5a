package io.berth.shim;

import com.google.protobuf.ByteString;
import io.berth.kernel.Namespace;
import io.berth.kernel.NamespacePins;
import io.berth.kernel.cgroup.Cgroups;
import io.berth.kernel.seccomp.RuntimeDefault;
import io.berth.shim.api.CgroupSpec;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.ExecRequest;
import io.berth.shim.api.Mount;
import io.berth.shim.api.NamespaceRef;
import io.berth.shim.api.ProcessSpec;
import io.berth.shim.api.Resources;
import io.berth.shim.api.Rlimit;
import io.berth.shim.api.Rootfs;
import io.berth.shim.api.Seccomp;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.ShimJvm;
import io.berth.shim.api.ShimLauncher;
import io.berth.shim.api.ShimPool;
import io.berth.shim.api.ShimReport;
import io.berth.shim.api.State;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The training run for the shim's AOT cache (JEP 483/514), run by the build at package time:
 * {@code AotTraining SHIM_LIB_DIR}. It launches a real shim exactly as the agent does
 * ({@link ShimJvm#trainingCommand}: the same flags and class path as {@link ShimJvm#command}, plus
 * {@code -XX:AOTCacheOutput}), has it create, start, exec in, update, signal and reap a busybox
 * container shaped like the agent's (pod files bind-mounted, masked paths, default capabilities,
 * the RuntimeDefault seccomp profile, a cgroup with limits, a CRI log, stats pushed to a report
 * socket), and lets it exit, which
 * writes SHIM_LIB_DIR/shim.aot. A second shim then runs with {@code -XX:AOTMode=on}, which makes
 * the JVM refuse to start unless it can use the cache: a flag or class path mismatch fails the
 * build instead of silently costing every shim its cache.
 *
 * <p>Making a container needs root and Debian's busybox-static: without them the training is
 * skipped with a notice (shims then run without a cache, which costs start-up time and memory).
 */
public final class AotTraining {
    private static final Duration TIMEOUT = Duration.ofSeconds(180);
    private static final List<String> APPLETS = List.of("sh", "true", "sleep", "cat", "echo");
    /** The default capability set, as the agent's PlanBuilder gives it. */
    private static final List<String> CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
            "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");

    private AotTraining() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: AotTraining SHIM_LIB_DIR");
            System.exit(2);
        }
        Path lib = Path.of(args[0]).toAbsolutePath();
        Path aot = lib.resolve(ShimJvm.AOT_CACHE);
        Files.deleteIfExists(aot); // a cache from older jars must not outlive this build
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Path busybox = Path.of("/bin/busybox");
        if (uid != 0 || !Files.isRegularFile(busybox)) {
            System.out.println("NOTICE: shim AOT training skipped (" + (uid != 0 ? "the build is not root, and making a"
                    + " container needs root" : busybox + " is missing (Debian's busybox-static)")
                    + "): shims will run without " + aot + ", slower to start and larger in memory");
            return;
        }
        // Under /tmp, not the build directory: the shim's socket path must fit in 108 bytes (unix(7)).
        Path scratch = Files.createTempDirectory("berth-shim-aot-");
        String cgroupParent = "/berth-aot-training-" + ProcessHandle.current().pid();
        var bundles = new ArrayList<Path>();
        try {
            Path layer = rootfsLayer(scratch.resolve("layer"), busybox);
            Path reports = scratch.resolve("reports.sock");
            drainReports(reports);
            long t0 = System.nanoTime();
            Path training = scratch.resolve("train");
            bundles.add(training);
            // The agent's path: an idle pool shim adopts the container (a launched shim runs the same code after main).
            try (var pool = new ShimPool(scratch.resolve("pool"), 1, false, true,
                    slot -> ShimJvm.trainingCommand(ShimJvm.idleCommand(lib, slot), aot), AotTraining::noColdLaunch)) {
                train(pool.launch(training, spec("train", training, layer, cgroupParent).toBuilder()
                        .setReportSocket(reports.toString()).setStatsIntervalMs(50).build()));
            }
            if (!Files.isRegularFile(aot)) {
                throw new IOException("the training shim exited without writing " + aot + "; its log:\n"
                        + Files.readString(training.resolve(ShimClient.LOG)));
            }
            System.out.printf("shim AOT cache %s: %d MB, trained in %.1f s%n", aot, Files.size(aot) >> 20,
                    (System.nanoTime() - t0) / 1e9);
            Path check = scratch.resolve("check");
            bundles.add(check);
            try (var pool = new ShimPool(scratch.resolve("pool-check"), 1, false, true,
                    slot -> aotModeOn(lib, ShimJvm.idleCommand(lib, slot)), AotTraining::noColdLaunch)) {
                verify(check, () -> pool.launch(check, spec("check", check, layer, cgroupParent)));
            }
            Path direct = scratch.resolve("direct");
            bundles.add(direct);
            verify(direct, () -> ShimLauncher.launch(aotModeOn(lib, ShimJvm.command(lib, direct, true)), direct,
                    spec("direct", direct, layer, cgroupParent)));
        } catch (Exception e) {
            Files.deleteIfExists(aot);
            throw e;
        } finally {
            for (Path b : bundles) {
                ShimLauncher.cleanup(b);
                NamespacePins.remove(podNamespaces(b));
            }
            Cgroups.host().open(cgroupParent).remove(Duration.ofSeconds(10));
            deleteTree(scratch);
        }
    }

    /** Drives the shim through every request it serves, then waits until it has exited. */
    private static void train(ShimClient c) throws Exception {
        c.state();
        c.start();
        for (int i = 0; i < 3; i++) {
            var r = c.exec(ExecRequest.newBuilder().addArgs("sh").addArgs("-c").addArgs("echo exec; cat /etc/hostname")
                    .setTimeoutMs(10_000).build());
            if (r.getExitCode() != 0) {
                throw new IOException("exec in the training container exited " + r.getExitCode() + ": "
                        + r.getStderr().toStringUtf8());
            }
        }
        c.updateResources(Resources.newBuilder().setMemoryLimitBytes(64 << 20).setCpuShares(512).setPidsLimit(64).build());
        c.reopenLog();
        c.state();
        Thread.sleep(300); // a few stats samples pushed to the report socket
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        // As the agent's StopContainer does: signal and wait in one exchange, then wait again if need be.
        // The script traps TERM and exits 0, as the bench's containers do.
        State s = c.killAndAwait(15, Duration.ofSeconds(5));
        while (s.getStatus() != State.Status.EXITED) {
            s = c.await(Duration.ofSeconds(5));
            if (System.nanoTime() > deadline) throw new IOException("training container did not exit on SIGTERM");
        }
        // The JVM writes the cache as it exits (it runs a second JVM to assemble it): wait for that.
        while (c.alive()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("training shim did not exit within " + TIMEOUT.toSeconds() + " s");
            }
            Thread.sleep(20);
        }
    }

    /**
     * The agent's side of the report socket, as far as the training needs it: accepts the shim's
     * connection and reads its reports (hello, stats samples, the exit) until it closes.
     */
    private static void drainReports(Path socket) throws IOException {
        var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofPlatform().name("aot-reports").daemon(true).start(() -> {
            try (server) {
                while (true) {
                    try (SocketChannel ch = server.accept()) {
                        var in = Channels.newInputStream(ch);
                        while (ShimReport.parseDelimitedFrom(in) != null) {
                            // read and dropped: the training only needs the shim to send them
                        }
                    } catch (IOException e) {
                        // the shim went away mid-report: wait for the next one
                    }
                }
            } catch (IOException e) {
                // the scratch directory is gone: training over
            }
        });
    }

    private static List<String> noColdLaunch(Path bundle) {
        throw new IllegalStateException("the idle shim did not adopt " + bundle + " (see its log in the pool directory)");
    }

    /** {@code command} with {@code -XX:AOTMode=on}: the JVM refuses to start unless it can use the cache. */
    private static List<String> aotModeOn(Path lib, List<String> command) {
        if (command.stream().noneMatch(a -> a.startsWith("-XX:AOTCache="))) {
            throw new IllegalStateException("ShimJvm does not use the fresh cache in " + lib + ": " + command);
        }
        return ShimJvm.withJvmOption(command, "-XX:AOTMode=on");
    }

    private interface Launch {
        ShimClient run() throws Exception;
    }

    /** A shim under {@code -XX:AOTMode=on} creates and starts a container: the cache is usable. */
    private static void verify(Path bundle, Launch launch) throws Exception {
        ShimClient c;
        try {
            c = launch.run();
        } catch (Exception e) {
            String log = Files.exists(bundle.resolve(ShimClient.LOG)) ? Files.readString(bundle.resolve(ShimClient.LOG)) : "";
            throw new IOException("a shim with -XX:AOTMode=on does not start, so the JVM rejects the trained cache"
                    + " (flags or class path differ from ShimJvm's?): " + e.getMessage() + "\n" + log, e);
        }
        c.start();
        c.shutdown();
    }

    private static ContainerSpec spec(String id, Path bundle, Path layer, String cgroupParent) throws IOException {
        Files.createDirectories(bundle.resolve("upper"));
        Files.createDirectories(bundle.resolve("work"));
        Path pod = Files.createDirectories(bundle.resolve("pod"));
        Files.writeString(pod.resolve("hostname"), "aot-" + id + "\n");
        Files.writeString(pod.resolve("hosts"), "127.0.0.1\tlocalhost\n");
        Files.writeString(pod.resolve("resolv.conf"), "nameserver 127.0.0.1\n");
        var b = ContainerSpec.newBuilder().setId("aot-" + id).setBundle(bundle.toString()).setHostname("aot-" + id)
                .setRootfs(Rootfs.newBuilder().addLowerDirs(layer.toString()).setUpperDir(bundle.resolve("upper").toString())
                        .setWorkDir(bundle.resolve("work").toString()))
                .setProcess(ProcessSpec.newBuilder().addArgs("sh").addArgs("-c")
                        .addArgs("trap 'exit 0' TERM; echo started; echo warn >&2; sleep 3600 & wait")
                        .addEnv("PATH=/bin").addEnv("HOME=/").setCwd("/")
                        .addAllCapabilities(CAPABILITIES)
                        .setNoNewPrivileges(true)
                        .addRlimits(Rlimit.newBuilder().setType("RLIMIT_NOFILE").setSoft(1024).setHard(1024))
                        .setOomScoreAdj(500)
                        // compiled as the agent does it, so the shim runs the agent's path
                        .setSeccomp(Seccomp.newBuilder().setKind(Seccomp.Kind.RUNTIME_DEFAULT)
                                .setFilter(ByteString.copyFrom(RuntimeDefault.filter(CAPABILITIES)))))
                .addAllMaskedPaths(List.of("/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"))
                .addAllReadonlyPaths(List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"))
                .setCgroup(CgroupSpec.newBuilder().setParent(cgroupParent).setName(id))
                .setResources(Resources.newBuilder().setMemoryLimitBytes(128 << 20).setCpuShares(256).setPidsLimit(128))
                .setLogPath(bundle.resolve("ctr.log").toString());
        for (String f : List.of("hostname", "hosts", "resolv.conf")) {
            b.addMounts(Mount.newBuilder().setSource(pod.resolve(f).toString()).setDestination("/etc/" + f).setType("bind")
                    .addAllOptions(List.of("rbind", "nosuid", "nodev", "noexec")));
        }
        b.addMounts(Mount.newBuilder().setSource("tmpfs").setDestination("/tmp").setType("tmpfs")
                .addAllOptions(List.of("nosuid", "nodev", "size=1m")));
        // As kubelet's containers are: in new PID and mount namespaces, in the pod's network, IPC
        // and UTS namespaces, which the agent pins (joining them is a path of its own to train).
        b.addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.PID));
        b.addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.MOUNT));
        Map<Namespace, Path> pins = NamespacePins.create(podNamespaces(bundle), Set.of(Namespace.NET, Namespace.IPC,
                Namespace.UTS), "aot-" + id);
        b.addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.NET).setPath(pins.get(Namespace.NET).toString()));
        b.addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.IPC).setPath(pins.get(Namespace.IPC).toString()));
        b.addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.UTS).setPath(pins.get(Namespace.UTS).toString()));
        return b.build();
    }

    /** Where the pod namespaces of the container in {@code bundle} are pinned: beside it, not in it. */
    private static Path podNamespaces(Path bundle) {
        return bundle.resolveSibling(bundle.getFileName() + "-pod-ns");
    }

    private static Path rootfsLayer(Path layer, Path busybox) throws IOException {
        Path bin = Files.createDirectories(layer.resolve("bin"));
        Files.copy(busybox, bin.resolve("busybox"));
        for (String a : APPLETS) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("etc", "tmp", "proc", "sys", "dev")) {
            Files.createDirectories(layer.resolve(d));
        }
        return layer;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
