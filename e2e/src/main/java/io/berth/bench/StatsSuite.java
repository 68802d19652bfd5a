package io.berth.bench;

import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.LinuxContainerConfig;
import io.berth.cri.v1.LinuxContainerSecurityContext;
import io.berth.cri.v1.LinuxPodSandboxConfig;
import io.berth.cri.v1.ListContainerStatsRequest;
import io.berth.cri.v1.ListPodSandboxStatsRequest;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.NamespaceOption;
import io.berth.cri.v1.PodSandboxConfig;
import io.berth.cri.v1.PodSandboxMetadata;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.RunPodSandboxRequest;
import io.berth.cri.v1.StartContainerRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.PrometheusText;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestRegistry;
import io.berth.kernel.cgroup.CgroupStatsReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * Stats at node scale: 100 running containers (10 pods of 10), each shim pushing a sample every
 * 10 s (the default). ListContainerStats latency; the agent's CPU over a quiet minute with a
 * Prometheus-like /metrics scrape every 15 s and kubelet-like ListContainerStats every 10 s (from
 * /proc/PID/stat utime+stime); what the push costs the shims over that minute; and, for comparison,
 * what reading the 100 cgroups on demand costs per call. Needs root.
 */
final class StatsSuite implements Suite {
    static final int PODS = 10;
    static final int PER_POD = 10;

    @Override
    public String name() {
        return "stats";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 6);
        String parent = "/berth-bench-stats-" + tag;
        Path config = scratch.resolve("agent.toml");
        Files.createDirectories(scratch);
        Files.writeString(config, "[network]\nbridge = \"bs" + tag + "\"\npod_cidrs = [\"10.219.0.0/24\"]\n"
                + "firewall_table = \"berth_s" + tag + "\"\n");
        var http = HttpClient.newHttpClient();
        var pods = new ArrayList<String>();
        try (var registry = TestRegistry.start(scratch.resolve("registry"));
                var agent = AgentProcess.start(scratch.resolve("agent"), "--config", config.toString(), "--log-level", "info");
                var cri = agent.client()) {
            String image = registry.push(TestImages.busybox(scratch.resolve("layout")), "busybox:stats");
            cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
            var containers = new ArrayList<String>();
            try {
                for (int p = 0; p < PODS; p++) {
                    String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(PodSandboxConfig.newBuilder()
                            .setMetadata(PodSandboxMetadata.newBuilder().setName("stats-" + p).setNamespace("bench").setUid(UUID.randomUUID().toString()))
                            .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(parent + "/pod" + p))).build()).getPodSandboxId();
                    pods.add(pod);
                    for (int c = 0; c < PER_POD; c++) {
                        String id = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                                .setConfig(ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("c" + c))
                                        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                                                .setNamespaceOptions(NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER))))
                                        .setImage(ImageSpec.newBuilder().setImage(image))
                                        .addCommand("sh").addCommand("-c").addCommand("trap 'exit 0' TERM; sleep 3600 & wait"))
                                .build()).getContainerId();
                        cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
                        containers.add(id);
                    }
                }
                int n = containers.size();
                URI metricsUri = URI.create("http://127.0.0.1:" + agent.httpPort() + "/metrics");
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (connected(http, metricsUri) < n && System.nanoTime() < deadline) {
                    Thread.sleep(500);
                }
                Thread.sleep(12_000); // every shim has pushed at least two samples

                for (int i = 0; i < 200; i++) { // warm up: the agent's JIT compiles the path
                    cri.runtime().listContainerStats(ListContainerStatsRequest.getDefaultInstance());
                    cri.runtime().version(io.berth.cri.v1.VersionRequest.getDefaultInstance());
                }
                double[] versionMs = new double[100];
                for (int i = 0; i < versionMs.length; i++) {
                    long t0 = System.nanoTime();
                    cri.runtime().version(io.berth.cri.v1.VersionRequest.getDefaultInstance());
                    versionMs[i] = (System.nanoTime() - t0) / 1e6;
                }
                figures.samples("Version (the gRPC round trip alone, for scale)", "ms", versionMs, "");
                double[] listMs = new double[100];
                int listed = 0;
                for (int i = 0; i < listMs.length; i++) {
                    long t0 = System.nanoTime();
                    listed = cri.runtime().listContainerStats(ListContainerStatsRequest.getDefaultInstance()).getStatsCount();
                    listMs[i] = (System.nanoTime() - t0) / 1e6;
                }
                if (listed != n) throw new IllegalStateException("ListContainerStats listed " + listed + " of " + n);
                figures.samples("ListContainerStats, " + n + " containers", "ms", listMs, "target <= 10 ms");

                double[] podMs = new double[20];
                for (int i = 0; i < podMs.length; i++) {
                    long t0 = System.nanoTime();
                    cri.runtime().listPodSandboxStats(ListPodSandboxStatsRequest.getDefaultInstance());
                    podMs[i] = (System.nanoTime() - t0) / 1e6;
                }
                figures.samples("ListPodSandboxStats, " + PODS + " pods / " + n + " containers", "ms", podMs,
                        "pod cgroups read on demand");

                double[] scrapeMs = new double[20];
                for (int i = 0; i < scrapeMs.length; i++) {
                    long t0 = System.nanoTime();
                    http.send(HttpRequest.newBuilder(metricsUri).build(), HttpResponse.BodyHandlers.ofString());
                    scrapeMs[i] = (System.nanoTime() - t0) / 1e6;
                }
                figures.samples("GET /metrics, " + n + " containers", "ms", scrapeMs, "");

                // Two quiet minutes after things settle: the shims' pushes alone, then with a scrape every
                // 15 s and a ListContainerStats every 10 s (as Prometheus and kubelet would).
                Thread.sleep(30_000);
                long quiet0 = Bench.cpuTicks(agent.pid());
                long q0 = System.nanoTime();
                Thread.sleep(60_000);
                figures.value("agent CPU, quiet minute, pushes only", "%core",
                        100 * (Bench.cpuTicks(agent.pid()) - quiet0) / (double) Bench.CLK_TCK / ((System.nanoTime() - q0) / 1e9),
                        "receiving " + n + " samples every 10 s, JVM housekeeping");
                List<Long> shimPids = Bench.shimPids(agent, containers);
                long agentBefore = Bench.cpuTicks(agent.pid());
                long shimsBefore = 0;
                for (long pid : shimPids) shimsBefore += Bench.cpuTicks(pid);
                long t0 = System.nanoTime();
                for (int s = 0; s < 60; s++) {
                    if (s % 15 == 0) http.send(HttpRequest.newBuilder(metricsUri).build(), HttpResponse.BodyHandlers.ofString());
                    if (s % 10 == 0) cri.runtime().listContainerStats(ListContainerStatsRequest.getDefaultInstance());
                    Thread.sleep(1000);
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                double agentCpu = (Bench.cpuTicks(agent.pid()) - agentBefore) / (double) Bench.CLK_TCK;
                long shimsAfter = 0;
                for (long pid : shimPids) shimsAfter += Bench.cpuTicks(pid);
                double shimCpu = (shimsAfter - shimsBefore) / (double) Bench.CLK_TCK;
                figures.value("agent CPU, quiet minute, pushes + scrapes + lists", "%core", 100 * agentCpu / seconds,
                        "target <= 2 % of one core (all the agent's CPU in that minute)");
                figures.value("shims' CPU, same minute, all " + n + " together", "%core", 100 * shimCpu / seconds,
                        "the push's cost: a sample every 10 s each, asleep in select(2) between");

                // The alternative: the agent reads every cgroup on each call (measured here, same files).
                var reader = CgroupStatsReader.host();
                double[] onDemandMs = new double[20];
                for (int i = 0; i < onDemandMs.length; i++) {
                    long r0 = System.nanoTime();
                    for (int p = 0; p < PODS; p++) {
                        for (int c = 0; c < PER_POD; c++) {
                            reader.read(parent + "/pod" + p + "/" + containers.get(p * PER_POD + c));
                        }
                    }
                    onDemandMs[i] = (System.nanoTime() - r0) / 1e6;
                }
                figures.samples("on-demand read of " + n + " cgroups (comparison)", "ms", onDemandMs,
                        "cost per ListContainerStats without the push");
            } finally {
                for (String pod : pods) {
                    cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                }
            }
        } finally {
            new ProcessBuilder("ip", "link", "del", "bs" + tag).start().waitFor();
            new ProcessBuilder("nft", "delete", "table", "inet", "berth_s" + tag).start().waitFor();
            Bench.removeCgroupParent(parent);
        }
    }

    static double connected(HttpClient http, URI metrics) throws Exception {
        String body = http.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString()).body();
        return PrometheusText.parse(body).samples().stream().filter(s -> s.name().equals("berth_shims_connected"))
                .mapToDouble(PrometheusText.Sample::value).sum();
    }

}
