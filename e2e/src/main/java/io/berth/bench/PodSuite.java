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

    @Override
    public String name() {
        return "pods";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 6);
        Path config = scratch.resolve("net.toml");
        Files.createDirectories(scratch);
        Files.writeString(config, "[network]\nbridge = \"bb" + tag + "\"\npod_cidrs = [\"10.218.0.0/24\"]\n"
                + "firewall_table = \"berth_b" + tag + "\"\n");
        try (var registry = TestRegistry.start(scratch.resolve("registry"));
                var agent = AgentProcess.start(scratch.resolve("agent"), "--config", config.toString(), "--log-level", "info");
                var cri = agent.client()) {
            String image = registry.push(TestImages.busybox(scratch.resolve("layout")), "busybox:bench");
            cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
            var pods = new ArrayList<String>();
            var containers = new ArrayList<String>();
            double[] startMs = new double[PODS];
            double[] runMs = new double[PODS];
            double[] createMs = new double[PODS];
            double[] startOnlyMs = new double[PODS];
            for (int i = 0; i < PODS; i++) {
                long t0 = System.nanoTime();
                String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(PodSandboxConfig.newBuilder()
                        .setMetadata(PodSandboxMetadata.newBuilder().setName("bench-" + i).setNamespace("bench").setUid(UUID.randomUUID().toString()))
                        .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/berth-bench-" + tag + "/pod" + i))).build())
                        .getPodSandboxId();
                long t1 = System.nanoTime();
                String id = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
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
                startMs[i] = (t3 - t0) / 1e6;
                runMs[i] = (t1 - t0) / 1e6;
                createMs[i] = (t2 - t1) / 1e6;
                startOnlyMs[i] = (t3 - t2) / 1e6;
                pods.add(pod);
                containers.add(id);
            }
            figures.samples("RunPodSandbox+CreateContainer+StartContainer", "ms", startMs,
                    "target <= 80 ms median (containerd+runc: 159 ms)");
            figures.samples("  of which RunPodSandbox", "ms", runMs, "containerd: 80 ms");
            figures.samples("  of which CreateContainer", "ms", createMs, "containerd: 14 ms");
            figures.samples("  of which StartContainer", "ms", startOnlyMs, "containerd: 66 ms");

            Thread.sleep(3000);
            double pss = 0;
            for (String id : containers) {
                Path pidFile = agent.dir().resolve("run/c").resolve(id.substring(0, 16)).resolve("shim.pid");
                long pid = Long.parseLong(Files.readString(pidFile).trim().split("\\s+")[0]);
                pss += AgentSuite.kib(pid, "Pss:", "smaps_rollup");
            }
            figures.value("shim PSS each, " + PODS + " running", "MiB", pss / PODS / 1024, "target <= 8 MB (containerd shim: 3.2 MB)");

            double[] execMs = new double[50];
            for (int i = 0; i < execMs.length; i++) {
                long t0 = System.nanoTime();
                cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(containers.get(i % PODS)).addCmd("true").setTimeout(10).build());
                execMs[i] = (System.nanoTime() - t0) / 1e6;
            }
            figures.samples("ExecSync true", "ms", execMs, "");

            double[] stopMs = new double[PODS];
            for (int i = 0; i < PODS; i++) {
                long t0 = System.nanoTime();
                cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(containers.get(i)).setTimeout(10).build());
                stopMs[i] = (System.nanoTime() - t0) / 1e6;
            }
            figures.samples("StopContainer (exits on SIGTERM)", "ms", stopMs, "target <= 20 ms (containerd: 60 ms)");
            for (String pod : pods) {
                cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            }
        } finally {
            new ProcessBuilder("ip", "link", "del", "bb" + tag).start().waitFor();
            new ProcessBuilder("nft", "delete", "table", "inet", "berth_b" + tag).start().waitFor();
        }
    }
}
