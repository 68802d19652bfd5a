package io.berth.e2e.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.ContainerStatus;
import io.berth.cri.v1.ContainerStatusRequest;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.ExecSyncResponse;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.LinuxContainerConfig;
import io.berth.cri.v1.LinuxContainerSecurityContext;
import io.berth.cri.v1.LinuxPodSandboxConfig;
import io.berth.cri.v1.LinuxSandboxSecurityContext;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.NamespaceOption;
import io.berth.cri.v1.PodSandboxConfig;
import io.berth.cri.v1.PodSandboxMetadata;
import io.berth.cri.v1.RunPodSandboxRequest;
import io.berth.cri.v1.StartContainerRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * The CRI calls of a pod test, as kubelet makes them, on one {@link Testbed} (through its current
 * client, so they survive an agent restart): pods under the test's own cgroup parent and log
 * directory, busybox containers with their namespace options.
 */
public final class Pods {
    private final Testbed bed;

    Pods(Testbed bed) {
        this.bed = bed;
    }

    /** Kubelet's namespace options for a container: its own PID namespace, the pod's, or a target's. */
    public static NamespaceOption pid(NamespaceMode mode) {
        return NamespaceOption.newBuilder().setPid(mode).build();
    }

    /** What kubelet sends for {@code kubectl debug --target}: the target container's PID namespace. */
    public static NamespaceOption target(String containerId) {
        return NamespaceOption.newBuilder().setPid(NamespaceMode.TARGET).setTargetId(containerId).build();
    }

    /** A pod's config: namespace e2e, a fresh uid, its name as hostname, its log directory and its cgroup under the test's parent. */
    public PodSandboxConfig.Builder pod(String name) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("e2e").setUid(UUID.randomUUID().toString()))
                .setHostname(name)
                .setLogDirectory(bed.logs().resolve(name).toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(bed.cgroupParent() + "/pod-" + name));
    }

    /** As {@link #pod(String)}, with the pod's PID namespace mode. */
    public PodSandboxConfig.Builder pod(String name, NamespaceMode pidMode) {
        var config = pod(name);
        config.getLinuxBuilder().setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(pid(pidMode)));
        return config;
    }

    public String runPod(PodSandboxConfig.Builder config) {
        return bed.cri().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build()).getPodSandboxId();
    }

    public String runPod(String name, NamespaceMode pidMode) {
        return runPod(pod(name, pidMode));
    }

    /** A busybox container running {@code command}, logging to NAME/0.log in its pod's log directory. */
    public ContainerConfig.Builder container(String name, NamespaceOption namespaces, String... command) {
        return ContainerConfig.newBuilder()
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(namespaces)))
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(bed.image()))
                .addAllCommand(List.of(command))
                .setLogPath(name + "/0.log");
    }

    /** As {@link #container(String, NamespaceOption, String...)}, in a PID namespace of its own (kubelet's default). */
    public ContainerConfig.Builder container(String name, String... command) {
        return container(name, pid(NamespaceMode.CONTAINER), command);
    }

    public String create(String pod, ContainerConfig.Builder config) {
        return bed.cri().runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setConfig(config).setSandboxConfig(PodSandboxConfig.newBuilder()).build()).getContainerId();
    }

    public String run(String pod, ContainerConfig.Builder config) {
        String id = create(pod, config);
        bed.cri().runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    public ContainerStatus status(String id) {
        return bed.cri().runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build()).getStatus();
    }

    public ContainerStatus awaitExit(String id, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var s = status(id);
            if (s.getState() == ContainerState.CONTAINER_EXITED) return s;
            Thread.sleep(20);
        }
        throw new AssertionError("container " + id + " did not exit within " + timeout + ": " + status(id));
    }

    /** ExecSync with a 20 s timeout, whatever its exit code. */
    public ExecSyncResponse execResult(String id, String... cmd) {
        return bed.cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addAllCmd(List.of(cmd))
                .setTimeout(20).build());
    }

    /** ExecSync that must succeed; its stdout. */
    public String exec(String id, String... cmd) {
        var r = execResult(id, cmd);
        assertEquals(0, r.getExitCode(), "exec " + List.of(cmd) + ": " + r.getStderr().toStringUtf8());
        return r.getStdout().toStringUtf8();
    }

    /**
     * A character device node {@code major:minor} the container makes itself (mknod is allowed,
     * runc's "c *:* m") cannot be opened: its device cgroup does not allow that device.
     */
    public void assertMadeDeviceCannotBeOpened(String id, int major, int minor) {
        exec(id, "mknod", "/tmp/dev-" + major + "-" + minor, "c", Integer.toString(major), Integer.toString(minor));
        var r = execResult(id, "sh", "-c", "exec 3</tmp/dev-" + major + "-" + minor);
        assertNotEquals(0, r.getExitCode(), "opened " + major + ":" + minor);
        assertTrue(r.getStderr().toStringUtf8().contains("Operation not permitted"), r.getStderr().toStringUtf8());
    }

    /** Waits until ExecSync of {@code cmd} prints something containing every one of {@code expected}; that output. */
    public String awaitExec(String id, List<String> expected, String... cmd) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        String out = exec(id, cmd);
        while (System.nanoTime() < deadline && !expected.stream().allMatch(out::contains)) {
            Thread.sleep(50);
            out = exec(id, cmd);
        }
        return out;
    }

    /** The log of container {@code container} (its 0.log) in pod {@code pod}'s log directory. */
    public String log(String pod, String container) throws IOException {
        return Files.readString(bed.logs().resolve(pod).resolve(container).resolve("0.log"));
    }

    /** The value of the first log line {@code KEY=VALUE} a container's stdout printed. */
    public static String value(String log, String key) {
        String marker = " stdout F " + key + "=";
        return log.lines().filter(l -> l.contains(marker)).findFirst()
                .map(l -> l.substring(l.indexOf(marker) + marker.length()).strip())
                .orElseThrow(() -> new AssertionError("no " + key + "= in the log:\n" + log));
    }
}
