package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.CheckpointContainerRequest;
import io.berth.cri.v1.ContainerFilter;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.ContainerStateValue;
import io.berth.cri.v1.ContainerStatsFilter;
import io.berth.cri.v1.LinuxContainerResources;
import io.berth.cri.v1.ListContainerStatsRequest;
import io.berth.cri.v1.ListContainersRequest;
import io.berth.cri.v1.ListPodSandboxMetricsRequest;
import io.berth.cri.v1.ListPodSandboxRequest;
import io.berth.cri.v1.ListPodSandboxStatsRequest;
import io.berth.cri.v1.PodSandboxFilter;
import io.berth.cri.v1.PodSandboxState;
import io.berth.cri.v1.PodSandboxStateValue;
import io.berth.cri.v1.PodSandboxStatsFilter;
import io.berth.cri.v1.StopPodSandboxRequest;
import io.berth.cri.v1.StreamContainerStatsRequest;
import io.berth.cri.v1.StreamContainersRequest;
import io.berth.cri.v1.StreamPodSandboxMetricsRequest;
import io.berth.cri.v1.StreamPodSandboxStatsRequest;
import io.berth.cri.v1.StreamPodSandboxesRequest;
import io.berth.cri.v1.UpdatePodSandboxResourcesRequest;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The CRI list streams (KEP-5825) against their List* twins, UpdatePodSandboxResources on the real
 * pod cgroup, and CheckpointContainer's refusal: a real agent driven only through its socket.
 */
@RequiresRoot
class StreamsAndResizeIT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("sr");
    static final Pods pods = bed.pods();

    /** Two ready pods (one with a running and an exited container), one stopped pod. */
    static String web;
    static String db;
    static String gone;
    static String running;
    static String exited;

    @BeforeAll
    static void start() throws Exception {
        web = runPod("web", Map.of("app", "web", "tier", "front"));
        db = runPod("db", Map.of("app", "db", "tier", "back"));
        gone = runPod("gone", Map.of("app", "gone", "tier", "back"));
        running = run(web, "server", Map.of("role", "server"), "sleep", "600");
        exited = run(web, "init", Map.of("role", "init"), "true");
        run(db, "sql", Map.of("role", "server"), "sleep", "600");
        bed.cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(gone).build());
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (containers(ContainerFilter.newBuilder().setId(exited).build()).getFirst().getState()
                != ContainerState.CONTAINER_EXITED) {
            if (System.nanoTime() > deadline) throw new AssertionError("container " + exited + " did not exit");
            Thread.sleep(50);
        }
    }

    static String runPod(String name, Map<String, String> labels) {
        return pods.runPod(pods.pod(name).putAllLabels(labels));
    }

    static String run(String pod, String name, Map<String, String> labels, String... command) {
        return pods.run(pod, pods.container(name, command).putAllLabels(labels));
    }

    static List<io.berth.cri.v1.Container> containers(ContainerFilter filter) {
        return bed.cri().runtime().listContainers(ListContainersRequest.newBuilder().setFilter(filter).build()).getContainersList();
    }

    /** Every item of a stream, checking the upstream contract: each response a list of at least one item. */
    static <R, T> List<T> drain(Iterator<R> stream, Function<R, List<T>> items) {
        var all = new java.util.ArrayList<T>();
        stream.forEachRemaining(r -> {
            assertTrue(!items.apply(r).isEmpty(), "a response with no item: " + r);
            all.addAll(items.apply(r));
        });
        return all;
    }

    @Test
    void streamPodSandboxesAnswersWhatListPodSandboxDoesForEachFilter() {
        for (var filter : List.of(PodSandboxFilter.getDefaultInstance(),
                PodSandboxFilter.newBuilder().setId(web.substring(0, 12)).build(),
                PodSandboxFilter.newBuilder().setState(PodSandboxStateValue.newBuilder()
                        .setState(PodSandboxState.SANDBOX_NOTREADY)).build(),
                PodSandboxFilter.newBuilder().putLabelSelector("tier", "back").build(),
                PodSandboxFilter.newBuilder().putLabelSelector("tier", "none").build())) {
            var listed = bed.cri().runtime().listPodSandbox(ListPodSandboxRequest.newBuilder().setFilter(filter).build()).getItemsList();
            var streamed = drain(bed.cri().runtime().streamPodSandboxes(StreamPodSandboxesRequest.newBuilder().setFilter(filter).build()),
                    r -> r.getPodSandboxesList());
            assertEquals(listed, streamed, "filter " + filter);
        }
        var back = drain(bed.cri().runtime().streamPodSandboxes(StreamPodSandboxesRequest.newBuilder().setFilter(
                PodSandboxFilter.newBuilder().putLabelSelector("tier", "back")).build()), r -> r.getPodSandboxesList());
        assertEquals(Set.of(db, gone), back.stream().map(p -> p.getId()).collect(Collectors.toSet()));
    }

    @Test
    void streamContainersAnswersWhatListContainersDoesForEachFilter() {
        for (var filter : List.of(ContainerFilter.getDefaultInstance(),
                ContainerFilter.newBuilder().setPodSandboxId(web).build(),
                ContainerFilter.newBuilder().setId(exited.substring(0, 12)).build(),
                ContainerFilter.newBuilder().setState(ContainerStateValue.newBuilder()
                        .setState(ContainerState.CONTAINER_RUNNING)).build(),
                ContainerFilter.newBuilder().putLabelSelector("role", "server").build(),
                ContainerFilter.newBuilder().setPodSandboxId(gone).build())) {
            var streamed = drain(bed.cri().runtime().streamContainers(StreamContainersRequest.newBuilder().setFilter(filter).build()),
                    r -> r.getContainersList());
            assertEquals(containers(filter), streamed, "filter " + filter);
        }
        var inWeb = drain(bed.cri().runtime().streamContainers(StreamContainersRequest.newBuilder().setFilter(
                ContainerFilter.newBuilder().setPodSandboxId(web)).build()), r -> r.getContainersList());
        assertEquals(Set.of(running, exited), inWeb.stream().map(c -> c.getId()).collect(Collectors.toSet()));
    }

    @Test
    void streamContainerStatsHasTheRunningContainersAsListContainerStatsDoes() throws Exception {
        var all = drain(bed.cri().runtime().streamContainerStats(StreamContainerStatsRequest.getDefaultInstance()),
                r -> r.getContainerStatsList());
        var listed = bed.cri().runtime().listContainerStats(ListContainerStatsRequest.getDefaultInstance()).getStatsList();
        assertEquals(ids(listed), ids(all));
        assertEquals(2, all.size(), "the two running containers, not the exited one: " + ids(all));
        assertTrue(ids(all).contains(running));

        var filter = ContainerStatsFilter.newBuilder().setPodSandboxId(web).putLabelSelector("role", "server").build();
        var mine = drain(bed.cri().runtime().streamContainerStats(StreamContainerStatsRequest.newBuilder().setFilter(filter).build()),
                r -> r.getContainerStatsList());
        assertEquals(List.of(running), ids(mine));
        assertEquals("server", mine.getFirst().getAttributes().getMetadata().getName());
        // The shim pushes a sample every stats_interval_seconds (10 s by default).
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (mine.getFirst().getMemory().getWorkingSetBytes().getValue() == 0) {
            if (System.nanoTime() > deadline) throw new AssertionError("no memory sample for " + running + ": " + mine);
            Thread.sleep(500);
            mine = drain(bed.cri().runtime().streamContainerStats(StreamContainerStatsRequest.newBuilder().setFilter(filter).build()),
                    r -> r.getContainerStatsList());
        }
        assertTrue(mine.getFirst().getCpu().hasUsageCoreNanoSeconds(), mine.toString());
    }

    static List<String> ids(List<io.berth.cri.v1.ContainerStats> stats) {
        return stats.stream().map(s -> s.getAttributes().getId()).sorted().toList();
    }

    @Test
    void streamPodSandboxStatsAndMetricsCoverThePodsTheirListsDo() {
        var filter = PodSandboxStatsFilter.newBuilder().putLabelSelector("app", "web").build();
        var streamed = drain(bed.cri().runtime().streamPodSandboxStats(StreamPodSandboxStatsRequest.newBuilder().setFilter(filter).build()),
                r -> r.getPodSandboxStatsList());
        var listed = bed.cri().runtime().listPodSandboxStats(ListPodSandboxStatsRequest.newBuilder().setFilter(filter).build()).getStatsList();
        assertEquals(List.of(web), streamed.stream().map(s -> s.getAttributes().getId()).toList());
        assertEquals(listed.stream().map(s -> s.getAttributes().getId()).toList(),
                streamed.stream().map(s -> s.getAttributes().getId()).toList());
        var all = drain(bed.cri().runtime().streamPodSandboxStats(StreamPodSandboxStatsRequest.getDefaultInstance()),
                r -> r.getPodSandboxStatsList());
        assertEquals(Set.of(web, db, gone), all.stream().map(s -> s.getAttributes().getId()).collect(Collectors.toSet()));

        var metrics = drain(bed.cri().runtime().streamPodSandboxMetrics(StreamPodSandboxMetricsRequest.getDefaultInstance()),
                r -> r.getPodSandboxMetricsList());
        var listedMetrics = bed.cri().runtime().listPodSandboxMetrics(ListPodSandboxMetricsRequest.getDefaultInstance()).getPodMetricsList();
        assertEquals(Set.of(web, db), metrics.stream().map(m -> m.getPodSandboxId()).collect(Collectors.toSet()), "READY pods only");
        assertEquals(listedMetrics.stream().map(m -> m.getPodSandboxId()).toList(),
                metrics.stream().map(m -> m.getPodSandboxId()).toList());
        assertTrue(metrics.stream().allMatch(m -> m.getContainerMetricsCount() > 0), metrics.toString());
    }

    static String cgroupFile(String controller, String pod, String file) throws Exception {
        return Files.readString(Path.of("/sys/fs/cgroup", controller).resolve(bed.cgroupParent().substring(1))
                .resolve("pod-" + pod).resolve(file)).strip();
    }

    @Test
    void updatePodSandboxResourcesResizesThePodCgroupToTheSumPlusOverhead() throws Exception {
        var resources = LinuxContainerResources.newBuilder().setCpuShares(512).setCpuPeriod(100_000)
                .setCpuQuota(50_000).setMemoryLimitInBytes(256L << 20);
        var overhead = LinuxContainerResources.newBuilder().setCpuShares(102).setCpuPeriod(100_000)
                .setCpuQuota(10_000).setMemoryLimitInBytes(64L << 20);
        bed.cri().runtime().updatePodSandboxResources(UpdatePodSandboxResourcesRequest.newBuilder().setPodSandboxId(db)
                .setResources(resources).setOverhead(overhead).build());
        assertEquals("614", cgroupFile("cpu", "db", "cpu.shares"));
        assertEquals("100000", cgroupFile("cpu", "db", "cpu.cfs_period_us"));
        assertEquals("60000", cgroupFile("cpu", "db", "cpu.cfs_quota_us"));
        assertEquals(Long.toString(320L << 20), cgroupFile("memory", "db", "memory.limit_in_bytes"));

        // A resize down, without overhead this time; the container keeps running inside it.
        bed.cri().runtime().updatePodSandboxResources(UpdatePodSandboxResourcesRequest.newBuilder().setPodSandboxId(db)
                .setResources(resources.setCpuShares(256).setMemoryLimitInBytes(128L << 20)).build());
        assertEquals("256", cgroupFile("cpu", "db", "cpu.shares"));
        assertEquals(Long.toString(128L << 20), cgroupFile("memory", "db", "memory.limit_in_bytes"));
        assertEquals(ContainerState.CONTAINER_RUNNING,
                containers(ContainerFilter.newBuilder().setPodSandboxId(db).build()).getFirst().getState());
    }

    @Test
    void updatePodSandboxResourcesRefusesAnUnknownPodAndBadValues() throws Exception {
        var unknown = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().updatePodSandboxResources(
                UpdatePodSandboxResourcesRequest.newBuilder().setPodSandboxId("no-such-pod").build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());

        String before = cgroupFile("cpu", "web", "cpu.shares");
        for (var bad : List.of(LinuxContainerResources.newBuilder().setCpuShares(-5),
                LinuxContainerResources.newBuilder().setCpuPeriod(10),
                LinuxContainerResources.newBuilder().setCpuShares(300).setMemoryLimitInBytes(-1),
                LinuxContainerResources.newBuilder().setCpusetCpus("all"),
                LinuxContainerResources.newBuilder().putUnified("memory.high", "1000"))) {
            var e = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().updatePodSandboxResources(
                    UpdatePodSandboxResourcesRequest.newBuilder().setPodSandboxId(web).setResources(bad).build()), bad.toString());
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
            assertTrue(e.getStatus().getDescription().contains(web) || e.getStatus().getDescription().contains("pod-web"),
                    e.getStatus().getDescription());
        }
        assertEquals(before, cgroupFile("cpu", "web", "cpu.shares"), "nothing written by a refused update");
    }

    @Test
    void checkpointContainerIsUnimplementedSayingCriuIsMissing() {
        var e = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().checkpointContainer(
                CheckpointContainerRequest.newBuilder().setContainerId(running).setLocation("/tmp/cp.tar").build()));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("CRIU"), e.getStatus().getDescription());
    }
}
