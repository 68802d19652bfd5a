package io.berth.bench;

import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.ExecRequest;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.LinuxContainerConfig;
import io.berth.cri.v1.LinuxContainerSecurityContext;
import io.berth.cri.v1.LinuxPodSandboxConfig;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.NamespaceOption;
import io.berth.cri.v1.PodSandboxConfig;
import io.berth.cri.v1.PodSandboxMetadata;
import io.berth.cri.v1.PortForwardRequest;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.RunPodSandboxRequest;
import io.berth.cri.v1.StartContainerRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.CriClient;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestRegistry;
import io.berth.e2e.streaming.SpdyClient;
import io.berth.e2e.streaming.WsClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The streaming server, as kubectl uses it: a short exec ({@code true}) from the Exec RPC to the
 * exit status on the error stream, over WebSocket (v5) and SPDY (v4); and port-forward throughput
 * of a 100 MB HTTP download from a pod over one SPDY stream. Needs root.
 */
final class StreamingSuite implements Suite {
    static final int EXECS = 50;
    static final long BIG = 100_000_000L;

    @Override
    public String name() {
        return "streaming";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 6);
        Path config = scratch.resolve("agent.toml");
        Files.createDirectories(scratch);
        Files.writeString(config, "[network]\nbridge = \"bs" + tag + "\"\npod_cidrs = [\"10.220.0.0/24\"]\n"
                + "firewall_table = \"berth_bs" + tag + "\"\n");
        String cgroup = "/berth-bench-st" + tag;
        try (var registry = TestRegistry.start(scratch.resolve("registry"));
                var agent = AgentProcess.start(scratch.resolve("agent"), "--config", config.toString(), "--log-level", "info");
                var cri = agent.client()) {
            String image = registry.push(TestImages.busybox(scratch.resolve("layout")), "busybox:bench");
            cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
            String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(PodSandboxConfig.newBuilder()
                    .setMetadata(PodSandboxMetadata.newBuilder().setName("stream").setNamespace("bench").setUid(UUID.randomUUID().toString()))
                    .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroup + "/pod"))).build()).getPodSandboxId();
            try {
                String web = start(cri, pod, image, "web", "mkdir -p /www && head -c " + BIG + " /dev/zero > /www/big"
                        + " && echo ready > /www/ready && exec httpd -f -p 8080 -h /www");
                execLatency(cri, web, figures);
                awaitFile(cri, web, "/www/ready");
                portForward(cri, pod, figures);
            } finally {
                cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            }
        } finally {
            new ProcessBuilder("ip", "link", "del", "bs" + tag).start().waitFor();
            new ProcessBuilder("nft", "delete", "table", "inet", "berth_bs" + tag).start().waitFor();
            Bench.removeCgroupParent(cgroup);
        }
    }

    private static String start(CriClient cri, String pod, String image, String name, String script) {
        String id = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setConfig(ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName(name))
                        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                                .setNamespaceOptions(NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER))))
                        .setImage(ImageSpec.newBuilder().setImage(image)).addCommand("sh").addCommand("-c").addCommand(script))
                .setSandboxConfig(PodSandboxConfig.newBuilder()).build()).getContainerId();
        cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    private static void awaitFile(CriClient cri, String id, String path) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addCmd("test").addCmd("-e")
                    .addCmd(path).setTimeout(10).build()).getExitCode() == 0) return;
            Thread.sleep(200);
        }
        throw new IllegalStateException(path + " did not appear in container " + id);
    }

    private static String execUrl(CriClient cri, String id) {
        return cri.runtime().exec(ExecRequest.newBuilder().setContainerId(id).addCmd("true").setStdout(true)
                .setStderr(true).build()).getUrl();
    }

    private static void execLatency(CriClient cri, String id, Figures figures) throws Exception {
        // Warm-up: the first connections load classes on both sides.
        for (int i = 0; i < 5; i++) {
            try (var ws = WsClient.connect(execUrl(cri, id), List.of("v5.channel.k8s.io"))) {
                ws.readAll(Duration.ofSeconds(30));
            }
        }
        // For comparison: the parts of the round trip measured alone.
        double[] rpc = new double[EXECS];
        double[] sync = new double[EXECS];
        for (int i = 0; i < EXECS; i++) {
            long t0 = System.nanoTime();
            execUrl(cri, id);
            rpc[i] = (System.nanoTime() - t0) / 1e6;
            t0 = System.nanoTime();
            cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addCmd("true").setTimeout(10).build());
            sync[i] = (System.nanoTime() - t0) / 1e6;
        }
        figures.samples("  Exec RPC alone (URL issued, token unused)", "ms", rpc, "");
        figures.samples("  ExecSync `true` (same shim exec path, no streams)", "ms", sync, "");
        double[] ws = new double[EXECS];
        for (int i = 0; i < EXECS; i++) {
            long t0 = System.nanoTime();
            try (var c = WsClient.connect(execUrl(cri, id), List.of("v5.channel.k8s.io"))) {
                String status = new String(c.readAll(Duration.ofSeconds(30))[3], StandardCharsets.UTF_8);
                if (!status.contains("Success")) throw new IllegalStateException("exec true: " + status);
            }
            ws[i] = (System.nanoTime() - t0) / 1e6;
        }
        figures.samples("exec `true` via streaming server, WebSocket v5 (RPC to status)", "ms", ws, "target <= 25 ms median");
        double[] spdy = new double[EXECS];
        for (int i = 0; i < EXECS; i++) {
            long t0 = System.nanoTime();
            try (var c = SpdyClient.connect(execUrl(cri, id), List.of("v4.channel.k8s.io"))) {
                var error = c.open(Map.of("streamtype", "error"));
                var out = c.open(Map.of("streamtype", "stdout"));
                c.open(Map.of("streamtype", "stderr"));
                out.drain(Duration.ofSeconds(30));
                String status = new String(error.readAll(Duration.ofSeconds(30)), StandardCharsets.UTF_8);
                if (!status.contains("Success")) throw new IllegalStateException("exec true: " + status);
            }
            spdy[i] = (System.nanoTime() - t0) / 1e6;
        }
        figures.samples("exec `true` via streaming server, SPDY v4 (RPC to status)", "ms", spdy, "target <= 25 ms median");
    }

    private static void portForward(CriClient cri, String pod, Figures figures) throws Exception {
        String url = cri.runtime().portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).build()).getUrl();
        try (var c = SpdyClient.connect(url, List.of("portforward.k8s.io"))) {
            c.open(Map.of("streamtype", "error", "port", "8080", "requestid", "0"));
            var data = c.open(Map.of("streamtype", "data", "port", "8080", "requestid", "0"));
            long t0 = System.nanoTime();
            data.write("GET /big HTTP/1.0\r\n\r\n");
            long n = data.drain(Duration.ofMinutes(5));
            double s = (System.nanoTime() - t0) / 1e9;
            if (n < BIG) throw new IllegalStateException("port-forward got " + n + " of " + BIG + " bytes");
            figures.value("port-forward 100 MB HTTP download, SPDY", "MB/s", n / 1e6 / s, n + " bytes in "
                    + String.format("%.2f", s) + " s");
        }
    }
}
