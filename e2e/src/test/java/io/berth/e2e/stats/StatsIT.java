package io.berth.e2e.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerEventResponse;
import io.berth.cri.v1.ContainerEventType;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.ContainerStatsFilter;
import io.berth.cri.v1.ContainerStatsRequest;
import io.berth.cri.v1.GetEventsRequest;
import io.berth.cri.v1.LinuxContainerResources;
import io.berth.cri.v1.ListContainerStatsRequest;
import io.berth.cri.v1.ListMetricDescriptorsRequest;
import io.berth.cri.v1.ListPodSandboxMetricsRequest;
import io.berth.cri.v1.ListPodSandboxStatsRequest;
import io.berth.cri.v1.MetricDescriptor;
import io.berth.cri.v1.PodSandboxStatsFilter;
import io.berth.cri.v1.PodSandboxStatsRequest;
import io.berth.cri.v1.RemoveContainerRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.RuntimeServiceGrpc;
import io.berth.cri.v1.StopContainerRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.PrometheusText;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Stats, metrics and events end to end: a real agent whose shims push a sample every second, real
 * busybox containers in real cgroups, driven only through the CRI socket and /metrics, and a real
 * Prometheus server scraping the agent.
 */
@RequiresRoot
class StatsIT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("stats").withAgentConfig("stats_interval_seconds = 1\n");
    static final Pods pods = bed.pods();

    static final HttpClient HTTP = HttpClient.newHttpClient();

    /** A pod of namespace stats (the metrics' label), labelled app=NAME, with no log directory. */
    static String runPod(String name) {
        var config = pods.pod(name).clearLogDirectory().putLabels("app", name);
        config.getMetadataBuilder().setNamespace("stats");
        return pods.runPod(config);
    }

    /** A container labelled role=NAME that logs nothing. */
    static ContainerConfig.Builder container(String name, String... command) {
        return pods.container(name, command).clearLogPath().putLabels("role", name);
    }

    static io.berth.cri.v1.ContainerStats stats(String id) {
        return bed.cri().runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build()).getStats();
    }

    /** Polls ContainerStats until {@code ok} holds (the shims sample every second here). */
    static io.berth.cri.v1.ContainerStats awaitStats(String id, Duration timeout, Predicate<io.berth.cri.v1.ContainerStats> ok)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        io.berth.cri.v1.ContainerStats s = stats(id);
        while (!ok.test(s)) {
            if (System.nanoTime() > deadline) throw new AssertionError("stats of " + id + " never satisfied the check: " + s);
            Thread.sleep(200);
            s = stats(id);
        }
        return s;
    }

    static String metrics() throws Exception {
        var resp = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + bed.agent().httpPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resp.statusCode());
        return resp.body();
    }

    @Test
    void aContainerBurningCpuUsesAboutOneCore() throws Exception {
        String pod = runPod("burn");
        // The node is shared (2 cores, often a load of 10+): give the test's cgroup parent the largest
        // CPU weight (cgroup-v1 cpu.shares, as a Guaranteed pod's would be high) so one core is there to use.
        Path shares = Path.of("/sys/fs/cgroup/cpu" + bed.cgroupParent() + "/cpu.shares");
        if (Files.exists(shares)) Files.writeString(shares, "262144");
        String id = pods.run(pod, container("burner", "sh", "-c", "while :; do :; done"));
        // Two samples a second apart are needed for a rate; wait for one taken over a busy second.
        var s = awaitStats(id, Duration.ofSeconds(20), st -> st.getCpu().hasUsageNanoCores()
                && st.getCpu().getUsageCoreNanoSeconds().getValue() > 1_500_000_000L);
        long nanoCores = s.getCpu().getUsageNanoCores().getValue();
        // One busy thread is one core at most; the machine (2 cores) has other load, so a band.
        assertTrue(nanoCores > 500_000_000L && nanoCores < 1_300_000_000L, "usage_nano_cores " + nanoCores);
        assertEquals(id, s.getAttributes().getId());
        assertEquals("burner", s.getAttributes().getMetadata().getName());
        assertTrue(s.getCpu().getTimestamp() > 0 && s.getMemory().getTimestamp() > 0);
        assertTrue(s.getMemory().getWorkingSetBytes().getValue() > 0);
        assertTrue(s.hasWritableLayer() && s.getWritableLayer().getFsId().getMountpoint().endsWith("containers"));

        // The filter: by id prefix, by pod, by label; an exited container is not listed.
        var byId = bed.cri().runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
                .setFilter(ContainerStatsFilter.newBuilder().setId(id.substring(0, 12))).build()).getStatsList();
        assertEquals(List.of(id), byId.stream().map(x -> x.getAttributes().getId()).toList());
        var byPodAndLabel = bed.cri().runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
                .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(pod).putLabelSelector("role", "burner")).build());
        assertEquals(1, byPodAndLabel.getStatsCount());
        assertEquals(0, bed.cri().runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
                .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(pod).putLabelSelector("role", "other")).build())
                .getStatsCount());

        // The pod: its own cgroup counts the burner's CPU; its network namespace has eth0.
        var podStats = awaitPodStats(pod, p -> p.getLinux().getCpu().hasUsageNanoCores());
        var linux = podStats.getLinux();
        assertEquals(pod, podStats.getAttributes().getId());
        assertEquals("burn", podStats.getAttributes().getMetadata().getName());
        assertTrue(linux.getCpu().getUsageCoreNanoSeconds().getValue() >= s.getCpu().getUsageCoreNanoSeconds().getValue());
        assertTrue(linux.getProcess().getProcessCount().getValue() >= 1);
        assertEquals(1, linux.getContainersCount());
        assertEquals("eth0", linux.getNetwork().getDefaultInterface().getName(), linux.getNetwork().toString());
        assertTrue(linux.getNetwork().getTimestamp() > 0);
        var listed = bed.cri().runtime().listPodSandboxStats(ListPodSandboxStatsRequest.newBuilder()
                .setFilter(PodSandboxStatsFilter.newBuilder().putLabelSelector("app", "burn")).build()).getStatsList();
        assertEquals(List.of(pod), listed.stream().map(p -> p.getAttributes().getId()).toList());

        // The cAdvisor-compatible metrics kubelet takes from the CRI.
        var descriptors = bed.cri().runtime().listMetricDescriptors(ListMetricDescriptorsRequest.getDefaultInstance())
                .getDescriptorsList();
        MetricDescriptor cpuDesc = descriptors.stream().filter(d -> d.getName().equals("container_cpu_usage_seconds_total"))
                .findFirst().orElseThrow();
        assertEquals(List.of("id", "image", "namespace", "pod", "container", "cpu"), cpuDesc.getLabelKeysList());
        for (String name : List.of("container_memory_working_set_bytes", "container_memory_usage_bytes", "container_memory_rss",
                "container_network_receive_bytes_total", "container_network_transmit_bytes_total", "container_processes",
                "container_last_seen", "container_spec_memory_limit_bytes")) {
            assertTrue(descriptors.stream().anyMatch(d -> d.getName().equals(name)), name);
        }
        var podMetrics = bed.cri().runtime().listPodSandboxMetrics(ListPodSandboxMetricsRequest.getDefaultInstance())
                .getPodMetricsList().stream().filter(m -> m.getPodSandboxId().equals(pod)).findFirst().orElseThrow();
        var cpuMetric = podMetrics.getContainerMetricsList().getFirst().getMetricsList().stream()
                .filter(m -> m.getName().equals("container_cpu_usage_seconds_total")).findFirst().orElseThrow();
        assertEquals(List.of(id, bed.image(), "stats", "burn", "burner", "total"), cpuMetric.getLabelValuesList());
        assertTrue(cpuMetric.getValue().getValue() >= 1, "whole seconds of CPU: " + cpuMetric);
        assertTrue(podMetrics.getMetricsList().stream().anyMatch(m -> m.getName().equals("container_network_receive_bytes_total")
                && m.getLabelValuesList().equals(List.of(pod, "", "stats", "burn", "POD", "eth0"))), podMetrics.toString());

        // A real Prometheus scrapes /metrics and answers PromQL about the burner.
        try (var prometheus = Prometheus.start(bed.dir().resolve("prometheus"), bed.agent().httpPort())) {
            String series = "berth_container_cpu_usage_seconds_total{container=\"burner\",pod=\"burn\",namespace=\"stats\"}";
            // A rate over a window the series only partly covers is extrapolated low: wait for 6 s of scrapes.
            prometheus.awaitResult("count_over_time(" + series + "[6s]) >= 6", Duration.ofSeconds(60));
            String body = prometheus.awaitResult("rate(" + series + "[6s])", Duration.ofSeconds(10));
            assertTrue(body.contains("\"container_id\":\"" + id + "\""), body);
            double rate = Double.parseDouble(body.replaceAll("(?s).*\"value\":\\[[0-9.]+,\"([0-9.eE+-]+)\"\\].*", "$1"));
            assertTrue(rate > 0.5 && rate < 1.3, "PromQL rate " + rate + ": " + body);
        }

        bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
        assertEquals(0, bed.cri().runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
                .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(pod)).build()).getStatsCount());
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        assertFalse(metrics().contains(id), "series of a removed container disappear");
    }

    static double metric(String name) throws Exception {
        return PrometheusText.parse(metrics()).samples().stream().filter(x -> x.name().equals(name))
                .mapToDouble(PrometheusText.Sample::value).sum();
    }

    static void awaitMetric(String name, Predicate<Double> ok) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!ok.test(metric(name))) {
            if (System.nanoTime() > deadline) throw new AssertionError(name + " = " + metric(name) + " never as expected");
            Thread.sleep(100);
        }
    }

    @Test
    void shimsReconnectAfterAnAgentRestartAndAVanishedShimIsSeenAtOnce() throws Exception {
        String pod = runPod("restart");
        String a = pods.run(pod, container("a", "sleep", "600"));
        String b = pods.run(pod, container("b", "sleep", "600"));
        awaitStats(b, Duration.ofSeconds(20), st -> st.getCpu().hasUsageNanoCores());

        bed.cri().close();
        assertEquals(0, bed.agent().terminate(Duration.ofSeconds(30)));
        long restarted = System.currentTimeMillis() * 1_000_000L;
        bed.restartAgent();
        // Each shim notices the closed connection within a second and reconnects; samples flow again.
        awaitMetric("berth_shims_connected", v -> v >= 2);
        assertTrue(metric("berth_shim_connections_total") >= 2);
        var fresh = awaitStats(a, Duration.ofSeconds(20), st -> st.getCpu().getTimestamp() > restarted && st.getCpu().hasUsageNanoCores());
        assertTrue(fresh.getMemory().getWorkingSetBytes().getValue() > 0);

        // kill -9 of a shim: its connection ends, the agent looks at once and records ShimLost (nobody polls).
        long shimPid = bed.agent().shimPid(b);
        double connectedBefore = metric("berth_shims_connected");
        ProcessHandle.of(shimPid).orElseThrow().destroyForcibly();
        awaitMetric("berth_shims_lost_total", v -> v == 1);
        // The loss may be seen through a status call before the dead shim's connection is closed.
        awaitMetric("berth_shims_connected", v -> v == connectedBefore - 1);
        var lost = bed.cri().runtime().containerStatus(io.berth.cri.v1.ContainerStatusRequest.newBuilder().setContainerId(b).build()).getStatus();
        assertEquals(ContainerState.CONTAINER_EXITED, lost.getState());
        assertEquals("ShimLost", lost.getReason());
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        awaitMetric("berth_shims_connected", v -> v == 0);
    }

    static io.berth.cri.v1.PodSandboxStats awaitPodStats(String pod, Predicate<io.berth.cri.v1.PodSandboxStats> ok)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            var p = bed.cri().runtime().podSandboxStats(PodSandboxStatsRequest.newBuilder().setPodSandboxId(pod).build()).getStats();
            if (ok.test(p)) return p;
            if (System.nanoTime() > deadline) throw new AssertionError("pod stats never satisfied the check: " + p);
            Thread.sleep(300);
        }
    }

    @Test
    void aContainerHolding64MiBShowsAWorkingSetOfAbout64MiB() throws Exception {
        String pod = runPod("mem");
        long limit = 256L << 20;
        // The shell keeps the 64 MiB string in its heap; the loop keeps the shell (not an exec'd sleep) alive.
        var config = container("holder", "sh", "-c",
                "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ready; while :; do sleep 600; done");
        config.setLinux(config.getLinux().toBuilder().setResources(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(limit)));
        String id = pods.run(pod, config);
        var s = awaitStats(id, Duration.ofSeconds(30), st -> st.getMemory().getWorkingSetBytes().getValue() > (60L << 20));
        // Let the shell finish building the string (it grows the buffer), then read a settled value.
        Thread.sleep(2500);
        s = stats(id);
        long ws = s.getMemory().getWorkingSetBytes().getValue();
        assertTrue(ws > (62L << 20) && ws < (80L << 20), "working set " + (ws >> 20) + " MiB: " + s.getMemory());
        assertTrue(s.getMemory().getRssBytes().getValue() > (60L << 20), s.getMemory().toString());
        assertEquals(limit - ws, s.getMemory().getAvailableBytes().getValue(), "available = limit - working set");
        assertTrue(s.getMemory().getUsageBytes().getValue() >= ws);
        assertTrue(s.getMemory().getPageFaults().getValue() > 16_000, "64 MiB of 4 KiB pages faulted in: " + s.getMemory());
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    }

    @Test
    void eventsArriveInOrderForACreateStartStopRemoveCycleAndForAnExitOnItsOwn() throws Exception {
        var events = new LinkedBlockingQueue<ContainerEventResponse>();
        var cancellable = Context.current().withCancellation();
        try {
            cancellable.run(() -> RuntimeServiceGrpc.newStub(bed.cri().channel()).getContainerEvents(GetEventsRequest.getDefaultInstance(),
                    new StreamObserver<>() {
                        @Override
                        public void onNext(ContainerEventResponse value) {
                            events.add(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                        }
                    }));
            awaitSubscribed();
            String pod = runPod("events");
            String id = pods.run(pod, container("sleeper", "sleep", "600"));
            bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
            bed.cri().runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());

            var mine = take(events, id, 4);
            assertEquals(List.of(ContainerEventType.CONTAINER_CREATED_EVENT, ContainerEventType.CONTAINER_STARTED_EVENT,
                    ContainerEventType.CONTAINER_STOPPED_EVENT, ContainerEventType.CONTAINER_DELETED_EVENT),
                    mine.stream().map(ContainerEventResponse::getContainerEventType).toList());
            for (int i = 0; i < 4; i++) {
                var e = mine.get(i);
                assertEquals(pod, e.getPodSandboxStatus().getId());
                assertTrue(e.getCreatedAt() > 0 && (i == 0 || e.getCreatedAt() >= mine.get(i - 1).getCreatedAt()));
            }
            assertEquals(ContainerState.CONTAINER_CREATED, mine.get(0).getContainersStatuses(0).getState());
            assertEquals(ContainerState.CONTAINER_RUNNING, mine.get(1).getContainersStatuses(0).getState());
            assertEquals(ContainerState.CONTAINER_EXITED, mine.get(2).getContainersStatuses(0).getState());
            assertEquals(0, mine.get(3).getContainersStatusesCount(), "a deleted container has no status any more");

            // A container that exits by itself: the shim tells the agent, nobody polls.
            String quick = pods.run(pod, container("quick", "sh", "-c", "sleep 1; exit 3"));
            var quickEvents = take(events, quick, 3);
            var stopped = quickEvents.get(2);
            assertEquals(ContainerEventType.CONTAINER_STOPPED_EVENT, stopped.getContainerEventType());
            var st = stopped.getContainersStatusesList().stream().filter(c -> c.getId().equals(quick)).findFirst().orElseThrow();
            assertEquals(3, st.getExitCode());
            assertEquals("Error", st.getReason());
            bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        } finally {
            cancellable.cancel(null);
        }
    }

    /** The subscription is made asynchronously; a create before it lands would be missed. */
    static void awaitSubscribed() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (PrometheusText.parse(metrics()).samples().stream()
                .noneMatch(s -> s.name().equals("berth_container_event_subscribers") && s.value() >= 1)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the event stream never opened");
            Thread.sleep(50);
        }
    }

    static List<ContainerEventResponse> take(LinkedBlockingQueue<ContainerEventResponse> events, String id, int n)
            throws InterruptedException {
        var out = new ArrayList<ContainerEventResponse>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (out.size() < n) {
            var e = events.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertNotNull(e, "only " + out.size() + " of " + n + " events for " + id + " arrived: " + out);
            if (e.getContainerId().equals(id)) out.add(e);
        }
        return out;
    }

    /** Debian's prometheus on loopback, scraping the agent every second; stopped by its pid. */
    static final class Prometheus implements AutoCloseable {
        final Process process;
        final int port;
        final Path log;

        Prometheus(Process process, int port, Path log) {
            this.process = process;
            this.port = port;
            this.log = log;
        }

        static Prometheus start(Path dir, int agentPort) throws Exception {
            Files.createDirectories(dir.resolve("data"));
            Path config = dir.resolve("prometheus.yml");
            Files.writeString(config, """
                    global:
                      scrape_interval: 1s
                      evaluation_interval: 1s
                    scrape_configs:
                      - job_name: berth
                        static_configs:
                          - targets: ["127.0.0.1:%d"]
                    """.formatted(agentPort));
            int port = AgentProcess.freePort();
            Path log = dir.resolve("prometheus.log");
            Process p = new ProcessBuilder("/usr/bin/prometheus", "--config.file=" + config,
                    "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            return new Prometheus(p, port, log);
        }

        /** Runs the instant query until it returns a non-empty vector. */
        String awaitResult(String promql, Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            String last = "";
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) throw new AssertionError("prometheus exited: " + Files.readString(log));
                try {
                    var resp = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/query?query="
                            + URLEncoder.encode(promql, StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
                    last = resp.body();
                    if (resp.statusCode() == 200 && last.contains("\"status\":\"success\"") && !last.contains("\"result\":[]")) {
                        return last;
                    }
                } catch (IOException e) {
                    last = e.toString(); // not listening yet
                }
                Thread.sleep(500);
            }
            throw new AssertionError("no result for " + promql + " within " + timeout + ": " + last + "\n" + Files.readString(log));
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
