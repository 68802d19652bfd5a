package io.berth.bench;

import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.ContainerStatusRequest;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.LinuxPodSandboxConfig;
import io.berth.cri.v1.PodSandboxConfig;
import io.berth.cri.v1.PodSandboxMetadata;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.RunPodSandboxRequest;
import io.berth.cri.v1.StartContainerRequest;
import io.berth.cri.v1.StopContainerRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.CriClient;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestRegistry;
import io.berth.kernel.JitThreads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Pods through the agent, as kubelet runs them: RunPodSandbox + CreateContainer + StartContainer
 * until the process runs (image present), the memory each running shim adds, ExecSync `true`, and
 * StopContainer of a container that exits on SIGTERM. Needs root.
 */
final class PodSuite implements Suite {
    static final int PODS = 20;
    static final int PACED = 10;
    static final long PACE_MS = 2000;
    /** Rows the containerd suite sets its own beside (see Bench.compareWithContainerd). */
    static final String BURST = "RunPodSandbox+CreateContainer+StartContainer";
    static final String BURST_FRESH = BURST + ", fresh agent";
    /** How long the agent's JIT must be idle before the settled burst, and how long to wait for that at most. */
    static final java.time.Duration QUIET = java.time.Duration.ofSeconds(2);
    static final java.time.Duration SETTLE_MAX = java.time.Duration.ofSeconds(60);
    static final String PACED_ROW = BURST + ", paced";
    static final String EXEC = "ExecSync true";
    static final String STOP = "StopContainer (exits on SIGTERM)";

    @Override
    public String name() {
        return "pods";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 6);
        Path config = scratch.resolve("net.toml");
        Files.createDirectories(scratch);
        // BERTH_BENCH_CONFIG: top-level settings of the agent's TOML to bench, e.g. "shim_pool = 2".
        String extra = System.getenv().getOrDefault("BERTH_BENCH_CONFIG", "");
        Files.writeString(config, extra + "\n[network]\nbridge = \"bb" + tag + "\"\npod_cidrs = [\"10.218.0.0/24\"]\n"
                + "firewall_table = \"berth_b" + tag + "\"\n");
        try (var registry = TestRegistry.start(scratch.resolve("registry"));
                var agent = AgentProcess.start(scratch.resolve("agent"), "--config", config.toString(), "--log-level", "info");
                var cri = agent.client()) {
            var pods = new ArrayList<String>();
            try {
                measure(cri, registry, scratch, tag, agent, pods, figures);
            } catch (Exception | Error e) {
                try {
                    removePods(cri, pods);
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
            removePods(cri, pods);
        } finally {
            new ProcessBuilder("ip", "link", "del", "bb" + tag).start().waitFor();
            new ProcessBuilder("nft", "delete", "table", "inet", "berth_b" + tag).start().waitFor();
            Bench.removeCgroupParent("/berth-bench-" + tag);
        }
    }

    private void measure(CriClient cri, TestRegistry registry, Path scratch, String tag, AgentProcess agent,
            List<String> pods, Figures figures) throws Exception {
        Bench.warmClient(cri);
        String image = registry.push(TestImages.busybox(scratch.resolve("layout")), "busybox:bench");
        cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
        // Back to back, as a node starting many pods at once: idle shims (the agent's warm
        // pool, shim_pool) are used up at once and each create then waits for a JVM start. First
        // on the fresh agent, as at a node's boot, while its JIT still compiles what its start-up
        // and the client's warm-up ran; then, those pods removed, once its JIT has gone quiet, as
        // for a burst in the rest of a node's life.
        burst(cri, image, tag, "fresh-", agent, pods, new ArrayList<>(), figures, BURST_FRESH,
                "back to back, the agent's first pods, its start-up compilation still running");
        removePods(cri, pods);
        pods.clear();
        figures.value("agent JIT quiet after", "s", awaitJitQuiet(agent.pid()), "no compiler thread CPU for "
                + QUIET.toSeconds() + " s; waited for at most " + SETTLE_MAX.toSeconds() + " s");
        var containers = new ArrayList<String>();
        burst(cri, image, tag, "bench-", agent, pods, containers, figures, BURST,
                "back to back, agent settled; target <= 80 ms median (containerd+runc: 159 ms)");
        // One pod every PACE: the pool has refilled before each, as for pods arriving over time.
        var paced = new double[4][PACED];
        for (int i = 0; i < PACED; i++) {
            Thread.sleep(PACE_MS);
            runPod(cri, image, tag, "paced-" + i, paced, i, pods, containers);
        }
        figures.samples(PACED_ROW, "ms", paced[0],
                "one pod per " + PACE_MS + " ms; target <= 80 ms median");
        figures.samples("  of which RunPodSandbox", "ms", paced[1], "");
        figures.samples("  of which CreateContainer", "ms", paced[2], "");
        figures.samples("  of which StartContainer", "ms", paced[3], "");

        Thread.sleep(3000);
        List<String> running = containers.subList(0, PODS);
        long shimTicks = 0;
        for (long pid : Bench.shimPids(agent, running)) shimTicks += Bench.cpuTicks(pid);
        figures.value("shim CPU each, settled burst's, start to now", "ms", shimTicks * 1000.0 / Bench.CLK_TCK / PODS,
                "JVM start, create, start, the chores 5 s later, idle since");
        figures.value("shim PSS each, " + PODS + " running, 3 s after the last start", "MiB",
                shimPss(agent, running), "before KSM has merged much");
        if (SamepageMerging.awaitSettled(figures)) {
            figures.value("shim PSS each, " + PODS + " running, shared (KSM)", "MiB", shimPss(agent, running),
                    "target <= 8 MB (containerd shim: 3.2 MB)");
        }

        figures.samples(EXEC, "ms", execSyncs(cri, containers), "");
        figures.samples(STOP, "ms", stops(cri, containers), "target <= 20 ms (containerd: 60 ms)");
    }

    /**
     * {@value #PODS} pods back to back into {@code pods} and {@code containers}: the rows {@code row}
     * (all three RPCs) and each RPC, and the agent's CPU per pod meanwhile, its JIT compiler
     * threads' split out (where a burst's two cores go: the agent's share here, each shim's later).
     */
    private static void burst(CriClient cri, String image, String tag, String prefix, AgentProcess agent,
            List<String> pods, List<String> containers, Figures figures, String row, String note) throws Exception {
        var t = new double[4][PODS];
        long agentTicks = Bench.cpuTicks(agent.pid());
        long jitTicks = JitThreads.userTicks(agent.pid());
        long self = ProcessHandle.current().pid();
        long clientTicks = Bench.cpuTicks(self);
        long clientJitTicks = JitThreads.userTicks(self);
        long[] host = hostTicks();
        long t0 = System.nanoTime();
        long wall0 = System.currentTimeMillis();
        for (int i = 0; i < PODS; i++) {
            runPod(cri, image, tag, prefix + i, t, i, pods, containers);
        }
        long t1 = System.nanoTime();
        double seconds = (t1 - t0) / 1e9;
        // For a profiler recording the whole run: where the burst lies, in CLOCK_MONOTONIC (perf
        // record -k CLOCK_MONOTONIC) and in the wall clock (JFR).
        System.err.println("bench: burst " + prefix + " from " + t0 + " to " + t1 + " ns CLOCK_MONOTONIC, from "
                + wall0 + " to " + System.currentTimeMillis() + " ms since the epoch");
        agentTicks = Bench.cpuTicks(agent.pid()) - agentTicks;
        jitTicks = JitThreads.userTicks(agent.pid()) - jitTicks;
        clientTicks = Bench.cpuTicks(self) - clientTicks;
        clientJitTicks = JitThreads.userTicks(self) - clientJitTicks;
        long[] hostAfter = hostTicks();
        double ticksPerPercent = Runtime.getRuntime().availableProcessors() * seconds * Bench.CLK_TCK / 100;
        figures.samples(row, "ms", t[0], note);
        figures.samples("  of which RunPodSandbox", "ms", t[1], "containerd: 80 ms");
        figures.samples("  of which CreateContainer", "ms", t[2], "containerd: 14 ms");
        figures.samples("  of which StartContainer", "ms", t[3], "containerd: 66 ms");
        figures.value("  agent CPU per pod", "ms", agentTicks * 1000.0 / Bench.CLK_TCK / PODS,
                String.format(java.util.Locale.ROOT, "of which its JIT compilers %.1f ms", jitTicks * 1000.0 / Bench.CLK_TCK / PODS));
        // The bench's own JVM is the node's kubelet here; it shares the two cores too.
        figures.value("  bench client CPU per pod", "ms", clientTicks * 1000.0 / Bench.CLK_TCK / PODS,
                String.format(java.util.Locale.ROOT, "kubelet's part; of which its JIT compilers %.1f ms", clientJitTicks * 1000.0 / Bench.CLK_TCK / PODS));
        // The node's CPUs meanwhile: how busy the burst kept them, and how much of them the
        // hypervisor took (steal): on a shared VM the same build's figures move with it.
        figures.value("  CPUs busy / stolen", "%", (hostAfter[0] - host[0]) / ticksPerPercent,
                String.format(java.util.Locale.ROOT, "stolen %.1f %% over the %.1f s", (hostAfter[1] - host[1]) / ticksPerPercent, seconds));
    }

    /** From /proc/stat's cpu line: the ticks of all CPUs not idle or waiting, and the ticks stolen. */
    private static long[] hostTicks() throws java.io.IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        // cpu user nice system idle iowait irq softirq steal ...
        long busy = 0;
        for (int i : new int[] {1, 2, 3, 6, 7}) busy += Long.parseLong(f[i]);
        return new long[] {busy, Long.parseLong(f[8])};
    }

    /**
     * Waits until the agent's JIT compiler threads have used no CPU for {@link #QUIET}, at most
     * {@link #SETTLE_MAX}; the seconds waited.
     */
    private static double awaitJitQuiet(long pid) throws Exception {
        long t0 = System.nanoTime();
        long deadline = t0 + SETTLE_MAX.toNanos();
        long ticks = JitThreads.userTicks(pid);
        long quietSince = System.nanoTime();
        while (System.nanoTime() - quietSince < QUIET.toNanos() && System.nanoTime() < deadline) {
            Thread.sleep(250);
            long now = JitThreads.userTicks(pid);
            if (now != ticks) {
                ticks = now;
                quietSince = System.nanoTime();
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * Removes every pod the suite made, also when a measurement failed half-way: the pods' shims
     * outlive the agent by design, so a pod not removed through it keeps running after the bench.
     * Each removal is tried three times (kubelet retries too); the failures are reported together.
     */
    static void removePods(CriClient cri, List<String> pods) {
        var failed = new ArrayList<String>();
        for (String pod : pods) {
            for (int attempt = 1; ; attempt++) {
                try {
                    cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                    break;
                } catch (RuntimeException e) {
                    if (attempt == 3) {
                        failed.add(pod + ": " + e.getMessage());
                        break;
                    }
                }
            }
        }
        if (!failed.isEmpty()) throw new IllegalStateException("pods not removed: " + failed);
    }

    /** 50 ExecSync {@code true}, round the first {@value #PODS} containers; ms each. */
    static double[] execSyncs(CriClient cri, List<String> containers) {
        double[] ms = new double[50];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(containers.get(i % PODS)).addCmd("true").setTimeout(10).build());
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    /** StopContainer (timeout 10 s) of the first {@value #PODS} containers, one after another; ms each. */
    static double[] stops(CriClient cri, List<String> containers) {
        double[] ms = new double[PODS];
        for (int i = 0; i < PODS; i++) {
            long t0 = System.nanoTime();
            cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(containers.get(i)).setTimeout(10).build());
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    /** The mean PSS of the shims of {@code containers}, in MiB. */
    private static double shimPss(AgentProcess agent, List<String> containers) throws Exception {
        double kib = 0;
        for (long pid : Bench.shimPids(agent, containers)) {
            kib += AgentSuite.kib(pid, "Pss:", "smaps_rollup");
        }
        return kib / containers.size() / 1024;
    }

    /** RunPodSandbox + CreateContainer + StartContainer; ms of the three and of each into {@code t[0..3][i]}. */
    static void runPod(CriClient cri, String image, String tag, String name, double[][] t, int i,
            List<String> pods, List<String> containers) {
        var config = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("bench").setUid(UUID.randomUUID().toString()))
                // As kubelet sends it for a pod without shareProcessNamespace: no pod-wide PID namespace.
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/berth-bench-" + tag + "/" + name)
                        .setSecurityContext(io.berth.cri.v1.LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                                io.berth.cri.v1.NamespaceOption.newBuilder().setPid(io.berth.cri.v1.NamespaceMode.CONTAINER))))
                .build();
        long t0 = System.nanoTime();
        String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build()).getPodSandboxId();
        long t1 = System.nanoTime();
        // With the pod's config, as kubelet sends every CreateContainer (containerd needs it).
        String id = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod).setSandboxConfig(config)
                .setConfig(ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("sleep"))
                        .setLinux(io.berth.cri.v1.LinuxContainerConfig.newBuilder().setSecurityContext(
                                io.berth.cri.v1.LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(
                                        io.berth.cri.v1.NamespaceOption.newBuilder().setPid(io.berth.cri.v1.NamespaceMode.CONTAINER))))
                        .setImage(ImageSpec.newBuilder().setImage(image)).addCommand("sh").addCommand("-c")
                        // pid 1 ignores signals it has no handler for: trap TERM to exit on it
                        .addCommand("trap 'exit 0' TERM; sleep 3600 & wait"))
                .build()).getContainerId();
        long t2 = System.nanoTime();
        cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        long t3 = System.nanoTime();
        t[0][i] = (t3 - t0) / 1e6;
        t[1][i] = (t1 - t0) / 1e6;
        t[2][i] = (t2 - t1) / 1e6;
        t[3][i] = (t3 - t2) / 1e6;
        pods.add(pod);
        containers.add(id);
    }
}
