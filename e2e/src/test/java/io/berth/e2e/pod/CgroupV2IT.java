package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.ContainerStatsRequest;
import io.berth.cri.v1.HugepageLimit;
import io.berth.cri.v1.LinuxContainerConfig;
import io.berth.cri.v1.LinuxContainerResources;
import io.berth.cri.v1.LinuxContainerSecurityContext;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.RemoveContainerRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.StopContainerRequest;
import io.berth.cri.v1.UpdateContainerResourcesRequest;
import io.berth.cri.v1.UpdatePodSandboxResourcesRequest;
import io.berth.e2e.fixtures.CgroupV2Host;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pods and containers on a cgroup v2 node, end to end: the agent sees only the unified hierarchy
 * ({@link CgroupV2Host}: on this hybrid machine, its cgroup2 mount, which has the hugetlb
 * controller and none of the others). What v2 does without a controller is all real here: the
 * held child placed by pid through cgroup.procs, the device program, cpu.stat, cgroup.kill on
 * removal, a cgroup namespace of its own and /sys/fs/cgroup inside; a limit whose controller the node
 * lacks is refused by name.
 */
@RequiresRoot
class CgroupV2IT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("cg2").withAgentConfig("stats_interval_seconds = 1\n").onCgroupV2();
    static final Pods pods = bed.pods();
    static final long TWO_MB_PAGES = 4L << 20;

    /** The container's cgroup directory, as the host sees the cgroup2 hierarchy. */
    static Path cgroupDir(String pod, String id) {
        return CgroupV2Host.root().resolve(bed.cgroupParent().substring(1)).resolve("pod-" + pod).resolve(id);
    }

    static String cgroupPath(String pod, String id) {
        return "/" + CgroupV2Host.root().relativize(cgroupDir(pod, id));
    }

    static LinuxContainerConfig.Builder hugepages(long limit) {
        return LinuxContainerConfig.newBuilder()
                .setResources(LinuxContainerResources.newBuilder()
                        .addHugepageLimits(HugepageLimit.newBuilder().setPageSize("2MB").setLimit(limit)))
                .setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(Pods.pid(NamespaceMode.CONTAINER)));
    }

    @Test
    void theContainerAndItsExecsRunInItsCgroupWithItsLimitsShownReadOnlyInside() throws Exception {
        String pod = pods.runPod("place", NamespaceMode.CONTAINER);
        String id = pods.run(pod, pods.container("c", "sleep", "3600").setLinux(hugepages(TWO_MB_PAGES)));
        Path dir = cgroupDir("place", id);
        assertEquals(Long.toString(TWO_MB_PAGES), Files.readString(dir.resolve("hugetlb.2MB.max")).strip());
        assertEquals(1, Files.readAllLines(dir.resolve("cgroup.procs")).size(), "the container's process alone");
        // The exec is placed by pid too: its /proc/self/cgroup is the container's.
        // From its first instruction: cat reads its cgroup as it starts, and an exec placed only
        // after it ran (as v2's used to be) showed the shim's cgroup now and then. In the
        // container's own cgroup namespace its cgroup is the root: "0::/".
        // (This machine's v1 hierarchies still list every process: the v2 line is the one to see.)
        for (int i = 0; i < 20; i++) {
            String self = pods.exec(id, "cat", "/proc/self/cgroup");
            assertTrue(self.lines().anyMatch("0::/"::equals), self);
        }
        assertTrue(Files.readAllLines(Path.of("/proc/" + Files.readAllLines(dir.resolve("cgroup.procs")).getFirst()
                + "/cgroup")).contains("0::" + cgroupPath("place", id)), "seen from the host: the container's cgroup");
        // Inside: /sys/fs/cgroup is the container's own cgroup, read-only.
        assertEquals(Long.toString(TWO_MB_PAGES), pods.exec(id, "cat", "/sys/fs/cgroup/hugetlb.2MB.max").strip());
        assertEquals("1", pods.exec(id, "head", "-n", "1", "/sys/fs/cgroup/cgroup.procs").strip());
        String mount = pods.exec(id, "cat", "/proc/self/mountinfo").lines()
                .filter(l -> l.split(" ")[4].equals("/sys/fs/cgroup")).findFirst().orElseThrow();
        assertEquals("/", mount.split(" ")[3], "the cgroup namespace's root: " + mount);
        assertTrue(mount.contains(" - cgroup2 "), mount);
        var write = pods.execResult(id, "sh", "-c", "echo 0 > /sys/fs/cgroup/hugetlb.2MB.max");
        assertNotEquals(0, write.getExitCode());
        assertTrue(write.getStderr().toStringUtf8().contains("Read-only file system"), write.getStderr().toStringUtf8());

        bed.cri().runtime().updateContainerResources(UpdateContainerResourcesRequest.newBuilder().setContainerId(id)
                .setLinux(hugepages(2 * TWO_MB_PAGES).getResources()).build());
        assertEquals(Long.toString(2 * TWO_MB_PAGES), Files.readString(dir.resolve("hugetlb.2MB.max")).strip());

        // The shim samples the cgroup every stats_interval_seconds: cpu.stat needs no controller.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        var cpu = cpu(id);
        while (cpu.getUsageCoreNanoSeconds().getValue() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            cpu = cpu(id);
        }
        assertTrue(cpu.getUsageCoreNanoSeconds().getValue() > 0, "cpu.stat usage_usec: " + cpu);
    }

    static io.berth.cri.v1.CpuUsage cpu(String id) {
        return bed.cri().runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build())
                .getStats().getCpu();
    }

    @Test
    void aPrivilegedContainerKeepsTheNodesCgroupNamespace() {
        var config = pods.pod("priv", NamespaceMode.CONTAINER);
        config.getLinuxBuilder().getSecurityContextBuilder().setPrivileged(true);
        String pod = pods.runPod(config);
        String id = pods.run(pod, pods.container("c", "sleep", "3600").setLinux(LinuxContainerConfig.newBuilder()
                .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setPrivileged(true)
                        .setNamespaceOptions(Pods.pid(NamespaceMode.CONTAINER)))));
        String self = pods.exec(id, "cat", "/proc/self/cgroup");
        assertTrue(self.lines().anyMatch(("0::" + cgroupPath("priv", id))::equals), self);
    }

    @Test
    void theDeviceProgramAllowsOnlyTheDefaultDevices() {
        String pod = pods.runPod("devices", NamespaceMode.CONTAINER);
        String id = pods.run(pod, pods.container("c", "sleep", "3600"));
        assertEquals("ok\n", pods.exec(id, "sh", "-c", "head -c 1 /dev/zero > /dev/null && echo ok"));
        pods.assertMadeDeviceCannotBeOpened(id, 1, 11); // /dev/kmsg: not in the rules
    }

    @Test
    void aLimitWhoseControllerTheNodeLacksIsRefusedNamingIt() throws Exception {
        String controllers = Files.readString(CgroupV2Host.root().resolve("cgroup.controllers"));
        if (controllers.contains("memory")) {
            return; // a node with the memory controller on v2 takes the limit: PodsIT covers limits there
        }
        String pod = pods.runPod("nomem", NamespaceMode.CONTAINER);
        var e = assertThrows(StatusRuntimeException.class, () -> pods.create(pod, pods.container("c", "sleep", "3600")
                .setLinux(LinuxContainerConfig.newBuilder().setResources(LinuxContainerResources.newBuilder()
                        .setMemoryLimitInBytes(64L << 20)).setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(Pods.pid(NamespaceMode.CONTAINER))))));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getStatus().toString());
        String message = e.getStatus().getDescription();
        assertTrue(message.contains("memory.max") && message.contains("memory controller"), e.getStatus().toString());
        try (var dirs = Files.list(cgroupDir("nomem", "x").getParent())) {
            assertEquals(0, dirs.filter(Files::isDirectory).count(), "no container cgroup is left");
        }
        // A running container's update likewise, and it keeps running with what it had.
        String running = pods.run(pod, pods.container("r", "sleep", "3600"));
        var update = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().updateContainerResources(
                UpdateContainerResourcesRequest.newBuilder().setContainerId(running).setLinux(
                        LinuxContainerResources.newBuilder().setMemoryLimitInBytes(64L << 20)).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, update.getStatus().getCode(), update.getStatus().toString());
        assertTrue(update.getStatus().getDescription().contains("memory controller"), update.getStatus().toString());
        assertEquals(io.berth.cri.v1.ContainerState.CONTAINER_RUNNING, pods.status(running).getState());
        // The pod's cgroup likewise: a pod resize that needs the controller is refused by name.
        var resize = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().updatePodSandboxResources(
                UpdatePodSandboxResourcesRequest.newBuilder().setPodSandboxId(pod).setResources(
                        LinuxContainerResources.newBuilder().setMemoryLimitInBytes(128L << 20)).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, resize.getStatus().getCode(), resize.getStatus().toString());
        assertTrue(resize.getStatus().getDescription().contains("memory controller"), resize.getStatus().toString());
        // What the node has is taken, as a unified (v2 file) value too.
        bed.cri().runtime().updatePodSandboxResources(UpdatePodSandboxResourcesRequest.newBuilder().setPodSandboxId(pod)
                .setResources(LinuxContainerResources.newBuilder().putUnified("hugetlb.2MB.max", Long.toString(TWO_MB_PAGES)))
                .build());
        assertEquals(Long.toString(TWO_MB_PAGES), Files.readString(cgroupDir("nomem", "x").getParent()
                .resolve("hugetlb.2MB.max")).strip());
    }

    @Test
    void stoppingAndRemovingTakesTheCgroupsAway() throws Exception {
        String pod = pods.runPod("gone", NamespaceMode.CONTAINER);
        String id = pods.run(pod, pods.container("c", "sh", "-c", "sleep 3600 & sleep 3600"));
        Path dir = cgroupDir("gone", id);
        assertTrue(Files.readAllLines(dir.resolve("cgroup.procs")).size() >= 2, "sh and its background sleep");
        bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
        bed.cri().runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
        assertFalse(Files.exists(dir), dir + " is removed, the orphaned sleep with it");
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        assertFalse(Files.exists(dir.getParent()), "the pod's cgroup " + dir.getParent() + " is removed");
    }

    @Test
    void anExitIsReportedWithItsCode() throws Exception {
        String pod = pods.runPod("exit", NamespaceMode.CONTAINER);
        var s = pods.awaitExit(pods.run(pod, pods.container("c", "sh", "-c", "exit 7")), Duration.ofSeconds(30));
        assertEquals(7, s.getExitCode(), s.toString());
        assertEquals("Error", s.getReason(), s.toString());
    }
}
