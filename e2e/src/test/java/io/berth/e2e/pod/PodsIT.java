package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.Capability;
import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.DNSConfig;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.KeyValue;
import io.berth.cri.v1.LinuxContainerConfig;
import io.berth.cri.v1.LinuxContainerResources;
import io.berth.cri.v1.LinuxContainerSecurityContext;
import io.berth.cri.v1.ListContainersRequest;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.NamespaceOption;
import io.berth.cri.v1.PodSandboxState;
import io.berth.cri.v1.PodSandboxStatusRequest;
import io.berth.cri.v1.RemoveContainerRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.SecurityProfile;
import io.berth.cri.v1.StatusRequest;
import io.berth.cri.v1.StopContainerRequest;
import io.berth.cri.v1.StopPodSandboxRequest;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.MemorySharing;
import io.berth.kernel.MountFlags;
import io.berth.kernel.Processes;
import io.berth.kernel.Syscalls;
import io.berth.kernel.testing.ProcFs;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pods and containers end to end, as kubelet drives them: a real agent, real shims, real busybox
 * containers from a loopback registry, real namespaces and cgroups. Only the CRI socket is used.
 */
@RequiresRoot
class PodsIT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("pods");
    static final Pods pods = bed.pods();

    static String runPod(String name) {
        return runPod(name, NamespaceMode.CONTAINER);
    }

    static String runPod(String name, NamespaceMode pidMode) {
        return pods.runPod(pods.pod(name, pidMode)
                .setDnsConfig(DNSConfig.newBuilder().addServers("10.96.0.10").addSearches("e2e.svc.cluster.local")));
    }

    /** Kubelet's namespace options for a pod without shareProcessNamespace: a PID namespace per container. */
    static final NamespaceOption NAMESPACES = Pods.pid(NamespaceMode.CONTAINER);

    /** Gone, or a zombie: the host's pid 1 reaps orphans, which is not ours to wait for. */
    static boolean deadOrZombie(long pid) {
        try {
            return Processes.stat(pid).field(3).equals("Z");
        } catch (java.io.IOException e) {
            return true;
        }
    }

    @Test
    void aPodRunsWithItsOwnPidNamespaceHostnameEnvArgsCwdAndUser() throws Exception {
        String pod = runPod("basics");
        var config = pods.container("probe", "sh", "-c", "echo pid=$$; echo host=$(hostname); echo env=$GREETING; "
                + "echo args=$0-$1; echo cwd=$(pwd); echo id=$(id -u):$(id -g); cat /etc/resolv.conf", "first", "second")
                .addEnvs(KeyValue.newBuilder().setKey("GREETING").setValue("hello world"))
                .setWorkingDir("/tmp")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(NAMESPACES).setRunAsUser(io.berth.cri.v1.Int64Value.newBuilder().setValue(1234))));
        String id = pods.run(pod, config);
        var exited = pods.awaitExit(id, Duration.ofSeconds(30));
        assertEquals(0, exited.getExitCode(), pods.log("basics", "probe"));
        assertEquals("Completed", exited.getReason());
        String log = pods.log("basics", "probe");
        for (String expected : List.of(" stdout F pid=1\n", " stdout F host=basics\n", " stdout F env=hello world\n",
                " stdout F args=first-second\n", " stdout F cwd=/tmp\n", " stdout F id=1234:0\n",
                " stdout F nameserver 10.96.0.10\n", " stdout F search e2e.svc.cluster.local\n")) {
            assertTrue(log.contains(expected), "log lacks '" + expected.strip() + "':\n" + log);
        }
        assertTrue(log.lines().allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+(Z|[+-]\\d\\d:\\d\\d) (stdout|stderr) [PF] .*")),
                "every line in CRI log format:\n" + log);
        assertEquals(PodSandboxState.SANDBOX_READY, bed.cri().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(pod).build()).getStatus().getState());
    }

    @Test
    void stderrIsLoggedAsStderr() throws Exception {
        String pod = runPod("streams");
        String id = pods.run(pod, pods.container("err", "sh", "-c", "echo out; echo oops >&2; exit 3"));
        var s = pods.awaitExit(id, Duration.ofSeconds(30));
        assertEquals(3, s.getExitCode());
        assertEquals("Error", s.getReason());
        String log = pods.log("streams", "err");
        assertTrue(log.contains(" stdout F out\n") && log.contains(" stderr F oops\n"), log);
    }

    @Test
    void execSyncSeesTheContainersFilesystemAndPids() {
        String pod = runPod("exec");
        String id = pods.run(pod, pods.container("sleeper", "sh", "-c", "echo marker > /tmp/m; exec sleep 600"));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        String cat = "";
        while (System.nanoTime() < deadline && !cat.equals("marker\n")) {
            cat = bed.cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addCmd("cat").addCmd("/tmp/m")
                    .setTimeout(10).build()).getStdout().toStringUtf8();
        }
        assertEquals("marker\n", cat);
        String ps = pods.exec(id, "ps");
        assertTrue(ps.lines().anyMatch(l -> l.trim().startsWith("1 ") && l.contains("sleep 600")), ps);
        var failing = bed.cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addCmd("sh").addCmd("-c")
                .addCmd("echo bad >&2; exit 7").setTimeout(10).build());
        assertEquals(7, failing.getExitCode());
        assertEquals("bad\n", failing.getStderr().toStringUtf8());
        var e = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().execSync(ExecSyncRequest.newBuilder()
                .setContainerId(id).addCmd("sleep").addCmd("30").setTimeout(1).build()));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
    }

    @Test
    void aMemoryLimitIsEnforcedAndReportedOomKilled() throws Exception {
        String pod = runPod("oom");
        var config = pods.container("hog", "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived")
                .setLinux(LinuxContainerConfig.newBuilder().setResources(LinuxContainerResources.newBuilder()
                        .setMemoryLimitInBytes(32L * 1024 * 1024)).setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NAMESPACES)));
        var s = pods.awaitExit(pods.run(pod, config), Duration.ofSeconds(60));
        assertEquals("OOMKilled", s.getReason(), s.toString());
        assertNotEquals(0, s.getExitCode());
    }

    /**
     * /sys/fs/cgroup inside shows the container's own cgroup in each v1 hierarchy, read-only, where
     * /proc/self/cgroup and the mount table say: what a JVM or Go runtime reads to size itself.
     */
    @Test
    void aContainerSeesItsOwnLimitsReadOnlyUnderSysFsCgroup() throws Exception {
        String pod = runPod("cgview");
        String id = pods.run(pod, pods.container("view", "sleep", "3600").setLinux(LinuxContainerConfig.newBuilder()
                .setResources(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(48L * 1024 * 1024)
                        .setCpuQuota(50_000).setCpuPeriod(100_000))
                .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NAMESPACES))));
        assertEquals(Long.toString(48L * 1024 * 1024), pods.exec(id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").strip());
        assertEquals("50000", pods.exec(id, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us").strip());
        // The same cgroup as the host's: the container's process is listed in it.
        assertEquals("1", pods.exec(id, "head", "-n", "1", "/sys/fs/cgroup/pids/cgroup.procs").strip());
        String self = pods.exec(id, "cat", "/proc/self/cgroup");
        String memoryPath = self.lines().filter(l -> l.split(":")[1].equals("memory")).findFirst().orElseThrow().split(":", 3)[2];
        assertTrue(memoryPath.endsWith("/" + id), self);
        String mountinfo = pods.exec(id, "cat", "/proc/self/mountinfo");
        String memoryMount = mountinfo.lines().filter(l -> l.split(" ")[4].equals("/sys/fs/cgroup/memory")).findFirst()
                .orElseThrow(() -> new AssertionError(mountinfo));
        assertEquals(memoryPath, memoryMount.split(" ")[3], "the mount's root is the container's cgroup: " + memoryMount);
        var write = pods.execResult(id, "sh", "-c", "echo 1 > /sys/fs/cgroup/pids/pids.max");
        assertNotEquals(0, write.getExitCode());
        assertTrue(write.getStderr().toStringUtf8().contains("Read-only file system"), write.getStderr().toStringUtf8());
        assertTrue(pods.exec(id, "ls", "/sys/fs/cgroup").contains("systemd"), "every hierarchy, the named one too");
    }

    @Test
    void aDroppedCapabilityIsReallyGone() throws Exception {
        String pod = runPod("caps");
        var config = pods.container("chown", "sh", "-c", "touch /tmp/f && chown 1:1 /tmp/f && echo chowned")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(NAMESPACES).setCapabilities(Capability.newBuilder().addDropCapabilities("CHOWN"))));
        var s = pods.awaitExit(pods.run(pod, config), Duration.ofSeconds(30));
        assertNotEquals(0, s.getExitCode(), pods.log("caps", "chown"));
        assertFalse(pods.log("caps", "chown").contains("chowned"));
        // The same without the drop succeeds: the failure above is the capability, not the image.
        var ok = pods.awaitExit(pods.run(pod, pods.container("chown2", "sh", "-c", "touch /tmp/f && chown 1:1 /tmp/f && echo chowned")),
                Duration.ofSeconds(30));
        assertEquals(0, ok.getExitCode(), pods.log("caps", "chown2"));
    }

    @Test
    void aReadOnlyRootfsRefusesWrites() throws Exception {
        String pod = runPod("ro");
        var config = pods.container("writer", "sh", "-c", "touch /newfile")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(NAMESPACES).setReadonlyRootfs(true)));
        var s = pods.awaitExit(pods.run(pod, config), Duration.ofSeconds(30));
        assertNotEquals(0, s.getExitCode());
        assertTrue(pods.log("ro", "writer").contains("Read-only file system"), pods.log("ro", "writer"));
    }

    @Test
    void stoppingAContainerThatIgnoresSigtermKillsItAfterTheTimeout() throws Exception {
        String pod = runPod("stubborn");
        String id = pods.run(pod, pods.container("trap", "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline && !pods.log("stubborn", "trap").contains("ready")) Thread.sleep(20);
        long t0 = System.nanoTime();
        bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(2).build());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        var s = pods.status(id);
        assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
        assertEquals(137, s.getExitCode(), "killed by SIGKILL");
        assertTrue(ms >= 1900, "waited the timeout before SIGKILL: " + ms + " ms");
        bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(2).build());
    }

    /**
     * shim_memory_sharing (on by default): KSM runs, a container's shim marks its memory mergeable
     * once the container runs, and the container's processes keep address randomisation.
     */
    @Test
    void shimsShareTheirMemoryButContainersKeepTheirOwn() throws Exception {
        String pod = runPod("sharing");
        String id = pods.run(pod, pods.container("sleeper", "sleep", "600"));
        assertEquals("00000000\n", pods.exec(id, "cat", "/proc/self/personality"), "randomised in the container");
        var ksm = MemorySharing.ksm();
        if (ksm != null) {
            assertTrue(ksm.running(), "the agent started ksmd: " + ksm);
        }
        long shimPid = bed.agent().shimPid(id);
        // marked 5 s after the start (the shim's CHORES_DELAY_MS)
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline && ProcFs.mergeableMappings(shimPid) == 0) {
            Thread.sleep(20);
        }
        assertTrue(ProcFs.mergeableMappings(shimPid) > 0, "the shim's memory is marked mergeable");
    }

    @Test
    void aKilledShimIsNoticedAndTheContainerReportedExited() throws Exception {
        String pod = runPod("shimkill");
        String id = pods.run(pod, pods.container("victim", "sleep", "600"));
        long shimPid = bed.agent().shimPid(id);
        Path procs = Path.of("/sys/fs/cgroup/pids").resolve(bed.cgroupParent().substring(1)).resolve("pod-shimkill").resolve(id)
                .resolve("cgroup.procs");
        long containerPid = Long.parseLong(Files.readAllLines(procs).getFirst().trim());
        ProcessHandle.of(shimPid).orElseThrow().destroyForcibly();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        io.berth.cri.v1.ContainerStatus s = pods.status(id);
        while (System.nanoTime() < deadline && s.getState() != ContainerState.CONTAINER_EXITED) {
            Thread.sleep(50);
            s = pods.status(id);
        }
        assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
        assertEquals("ShimLost", s.getReason());
        assertTrue(deadOrZombie(containerPid), "the container's process does not outlive its shim unwatched");
        bed.cri().runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
        assertFalse(Files.exists(Path.of("/sys/fs/cgroup/memory" + bed.cgroupParent() + "/pod-shimkill/" + id)),
                "the container's cgroup is gone after removal");
    }

    @Test
    void aPooledShimLeavesTheAgentsSessionAndItsContainerRunsAtNormalPriority() throws Exception {
        // Idle pool shims start in the agent's session at nice 19; adoption must undo both.
        String pod = runPod("priority");
        String id = pods.run(pod, pods.container("niced", "sleep", "600"));
        assertTrue(Files.readString(bed.agent().bundle(id).resolve("shim.log")).contains("adopted from pool slot"),
                "the container went to an idle pool shim");
        long shimPid = bed.agent().shimPid(id);
        assertNotEquals(Processes.stat(bed.agent().pid()).number(6), Processes.stat(shimPid).number(6),
                "the shim has a session of its own");
        try (var tasks = Files.list(Path.of("/proc/" + shimPid + "/task"))) {
            for (Path task : tasks.toList()) {
                int nice;
                try {
                    nice = Processes.nice(Long.parseLong(task.getFileName().toString()));
                } catch (java.nio.file.NoSuchFileException ended) {
                    continue; // a short-lived thread (one that marks the shim's memory mergeable, say)
                }
                assertEquals(0, nice, "nice of shim thread " + task.getFileName());
            }
        }
        Path procs = Path.of("/sys/fs/cgroup/pids").resolve(bed.cgroupParent().substring(1)).resolve("pod-priority").resolve(id)
                .resolve("cgroup.procs");
        long containerPid = Long.parseLong(Files.readAllLines(procs).getFirst().trim());
        assertEquals(0, Processes.nice(containerPid), "nice of the container's process");
        bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
    }

    @Test
    void theAgentKeepsCgroupMigrationsInFavordynmodsMode() throws Exception {
        // cgroup v1 here: a controller-less named hierarchy of the agent's, mounted with favordynmods.
        String mountPoint = bed.agent().dir().resolve("run/cgroup-dynmods").toString();
        var mounts = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].equals(mountPoint)).toList();
        assertEquals(1, mounts.size(), "one mount at " + mountPoint + ": " + mounts);
        String superOptions = mounts.getFirst().substring(mounts.getFirst().indexOf(" - ") + 3);
        assertTrue(superOptions.startsWith("cgroup ") && superOptions.contains("favordynmods")
                && superOptions.contains("name=berth"), superOptions);
    }

    @Test
    void containersKeepRunningAcrossAnAgentRestartAndAreListed() throws Exception {
        String pod = runPod("restart");
        String id = pods.run(pod, pods.container("long", "sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"));
        assertEquals(ContainerState.CONTAINER_RUNNING, pods.status(id).getState());
        bed.cri().close();
        assertEquals(0, bed.agent().terminate(Duration.ofSeconds(30)), bed.agent().log());
        bed.restartAgent();
        assertEquals(ContainerState.CONTAINER_RUNNING, pods.status(id).getState());
        assertTrue(bed.cri().runtime().listContainers(ListContainersRequest.getDefaultInstance()).getContainersList().stream()
                .anyMatch(c -> c.getId().equals(id) && c.getState() == ContainerState.CONTAINER_RUNNING));
        assertEquals(PodSandboxState.SANDBOX_READY, bed.cri().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(pod).build()).getStatus().getState());
        // And it is still controllable: stop works through the reconnected shim.
        bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(5).build());
        assertEquals(ContainerState.CONTAINER_EXITED, pods.status(id).getState());
    }

    @Test
    void aPodWhoseNamespacesWentWhileTheAgentWasDownIsNotReadyAfterItsRestart() throws Exception {
        // What a reboot leaves of a pod when the run directory is on a disk, made by hand: its
        // processes gone, its namespace pins plain files again.
        String pod = runPod("reboot");
        String id = pods.run(pod, pods.container("c", "sleep", "600"));
        ProcessHandle shim = ProcessHandle.of(bed.agent().shimPid(id)).orElseThrow();
        bed.cri().close();
        assertEquals(0, bed.agent().terminate(Duration.ofSeconds(30)), bed.agent().log());
        shim.destroyForcibly();
        shim.onExit().get(20, java.util.concurrent.TimeUnit.SECONDS);
        Path pins = bed.agent().dir().resolve("run/pods").resolve(pod).resolve("ns");
        for (String ns : List.of("net", "ipc", "uts")) {
            Syscalls.umount2(pins.resolve(ns), MountFlags.MNT_DETACH);
        }
        bed.restartAgent();
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, bed.cri().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(pod).build()).getStatus().getState());
        assertTrue(bed.agent().log().contains("no longer holds its pod"), bed.agent().log());
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline && pods.status(id).getState() != ContainerState.CONTAINER_EXITED) {
            Thread.sleep(50);
        }
        assertEquals(ContainerState.CONTAINER_EXITED, pods.status(id).getState());
        // As kubelet then does: stop and remove the old sandbox; nothing of it is left.
        bed.cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(pins.getParent().toString()));
        assertFalse(Files.exists(pins.getParent()));
        assertFalse(Files.exists(bed.agent().bundle(id)));
    }

    @Test
    void removingEverythingLeavesNoMountCgroupOrPin() throws Exception {
        String pod = runPod("leaks");
        String id = pods.run(pod, pods.container("c", "sleep", "600"));
        assertTrue(Files.readString(Path.of("/proc/self/mountinfo")).contains(bed.agent().dir().toString()),
                "the pod's namespace pins are mounted while it runs");
        bed.cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        bed.cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        assertEquals(ContainerState.CONTAINER_EXITED, pods.status(id).getState());
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"));
        assertFalse(mounts.contains(bed.agent().dir().resolve("run/pods").resolve(pod).toString()), mounts);
        for (String controller : List.of("memory", "pids", "cpu,cpuacct")) {
            Path cg = Path.of("/sys/fs/cgroup", controller).resolve(bed.cgroupParent().substring(1)).resolve("pod-leaks");
            assertFalse(Files.exists(cg), cg + " is removed");
        }
        assertFalse(Files.exists(bed.agent().bundle(id)));
        var e = assertThrows(StatusRuntimeException.class, () -> pods.status(id));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
    }

    @Test
    void aDuplicateContainerNameIsRefusedNamingTheHolder() {
        String pod = runPod("dupes");
        String first = pods.create(pod, pods.container("same", "true"));
        var e = assertThrows(StatusRuntimeException.class, () -> pods.create(pod, pods.container("same", "true")));
        assertEquals(Status.Code.ALREADY_EXISTS, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(first), e.getStatus().getDescription());
    }

    @Test
    void containersOfAPodSharingItsPidNamespaceSeeEachOtherUnderItsInit() throws Exception {
        String pod = runPod("sharedpid", io.berth.cri.v1.NamespaceMode.POD);
        var shared = io.berth.cri.v1.NamespaceOption.newBuilder().setPid(io.berth.cri.v1.NamespaceMode.POD);
        String a = pods.run(pod, pods.container("a", "sleep", "600").setLinux(LinuxContainerConfig.newBuilder()
                .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(shared))));
        String b = pods.run(pod, pods.container("b", "sh", "-c", "trap 'exit 0' TERM; sleep 700 & wait").setLinux(
                LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(shared))));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        String ps = pods.exec(b, "ps");
        while (System.nanoTime() < deadline && !(ps.contains("sleep 600") && ps.contains("sleep 700"))) {
            Thread.sleep(50);
            ps = pods.exec(b, "ps");
        }
        assertTrue(ps.lines().anyMatch(l -> l.trim().startsWith("1 ") && l.contains("/pause")), "pid 1 is the pod's init:\n" + ps);
        assertTrue(ps.contains("sleep 600") && ps.contains("sleep 700"), "each container sees the other's process:\n" + ps);
        // A container asking for the pod's PID namespace in a pod without one is refused, naming the pod.
        String plain = runPod("nosharedpid");
        var e = assertThrows(StatusRuntimeException.class, () -> pods.create(plain, pods.container("c", "true").setLinux(
                LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(shared)))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(plain), e.getStatus().getDescription());
        bed.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        var gone = assertThrows(StatusRuntimeException.class, () -> pods.status(a));
        assertEquals(Status.Code.NOT_FOUND, gone.getStatus().getCode());
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(bed.agent().dir().resolve("run/pods").resolve(pod).toString()),
                "the PID namespace pin is gone with the pod");
    }

    @Test
    void aLocalhostSeccompProfileIsAppliedAndABadOneIsAnInvalidArgumentNamingTheFile() throws Exception {
        String pod = runPod("localhost-seccomp");
        // Everything allowed but mkdir and mkdirat, which fail with EPERM.
        Path profile = Files.writeString(Files.createTempFile("berth-it-seccomp-", ".json"), """
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}""");
        try {
            String id = pods.run(pod, localhostSeccomp(pods.container("confined", "sleep", "600"), profile));
            String out = pods.exec(id, "sh", "-c", "mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touched");
            assertTrue(out.contains("rc=1") && out.contains("touched"), "mkdir refused, the rest allowed:\n" + out);
            Path missing = profile.resolveSibling(profile.getFileName() + ".missing");
            Path broken = Files.writeString(profile.resolveSibling(profile.getFileName() + ".broken"), "{\"syscalls\": []}");
            try {
                for (Path bad : List.of(missing, broken)) {
                    var e = assertThrows(StatusRuntimeException.class, () -> pods.create(pod,
                            localhostSeccomp(pods.container("bad-" + bad.getFileName(), "true"), bad)));
                    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
                    assertTrue(e.getStatus().getDescription().contains(bad.toString()), e.getStatus().getDescription());
                }
            } finally {
                Files.deleteIfExists(broken);
            }
            bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
        } finally {
            Files.deleteIfExists(profile);
        }
    }

    private static ContainerConfig.Builder localhostSeccomp(ContainerConfig.Builder config, Path profile) {
        config.getLinuxBuilder().getSecurityContextBuilder().setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.Localhost).setLocalhostRef(profile.toString()));
        return config;
    }

    @Test
    void statusReportsTheRuntimeReady() {
        var conditions = bed.cri().runtime().status(StatusRequest.getDefaultInstance()).getStatus().getConditionsList();
        assertTrue(conditions.stream().anyMatch(c -> c.getType().equals("RuntimeReady") && c.getStatus()));
    }
}
