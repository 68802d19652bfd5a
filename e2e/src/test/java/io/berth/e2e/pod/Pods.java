package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.ContainerStatus;
import io.berth.cri.v1.ContainerStatusRequest;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.ExecSyncRequest;
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
import io.berth.e2e.CriClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The CRI calls of a pod test, as kubelet makes them, on one {@link Testbed}: pods under the
 * test's own cgroup parent and log directory, busybox containers with their namespace options.
 */
record Pods(CriClient cri, String image, Path logs, String cgroupParent) {

    /** Kubelet's namespace options for a container: its own PID namespace, the pod's, or a target's. */
    static NamespaceOption pid(NamespaceMode mode) {
        return NamespaceOption.newBuilder().setPid(mode).build();
    }

    /** What kubelet sends for {@code kubectl debug --target}: the target container's PID namespace. */
    static NamespaceOption target(String containerId) {
        return NamespaceOption.newBuilder().setPid(NamespaceMode.TARGET).setTargetId(containerId).build();
    }

    String runPod(String name, NamespaceMode pidMode) {
        var config = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("e2e").setUid(UUID.randomUUID().toString()))
                .setHostname(name)
                .setLogDirectory(logs.resolve(name).toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroupParent + "/pod-" + name)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(pid(pidMode))))
                .build();
        return cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build()).getPodSandboxId();
    }

    ContainerConfig.Builder container(String name, NamespaceOption namespaces, String... command) {
        return ContainerConfig.newBuilder()
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(namespaces)))
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addAllCommand(List.of(command))
                .setLogPath(name + "/0.log");
    }

    String create(String pod, ContainerConfig.Builder config) {
        return cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setConfig(config).setSandboxConfig(PodSandboxConfig.newBuilder()).build()).getContainerId();
    }

    String run(String pod, ContainerConfig.Builder config) {
        String id = create(pod, config);
        cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    ContainerStatus status(String id) {
        return cri.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build()).getStatus();
    }

    ContainerStatus awaitExit(String id, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var s = status(id);
            if (s.getState() == ContainerState.CONTAINER_EXITED) return s;
            Thread.sleep(20);
        }
        throw new AssertionError("container " + id + " did not exit within " + timeout + ": " + status(id));
    }

    /** ExecSync that must succeed; its stdout. */
    String exec(String id, String... cmd) {
        var r = cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addAllCmd(List.of(cmd)).setTimeout(20).build());
        assertEquals(0, r.getExitCode(), "exec " + List.of(cmd) + ": " + r.getStderr().toStringUtf8());
        return r.getStdout().toStringUtf8();
    }

    /** Waits until ExecSync of {@code cmd} prints something containing every one of {@code expected}; that output. */
    String awaitExec(String id, List<String> expected, String... cmd) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        String out = exec(id, cmd);
        while (System.nanoTime() < deadline && !expected.stream().allMatch(out::contains)) {
            Thread.sleep(50);
            out = exec(id, cmd);
        }
        return out;
    }

    String log(String pod, String container) throws IOException {
        return Files.readString(logs.resolve(pod).resolve(container).resolve("0.log"));
    }

    /** The value of the first log line {@code KEY=VALUE} a container's stdout printed. */
    static String value(String log, String key) {
        String marker = " stdout F " + key + "=";
        return log.lines().filter(l -> l.contains(marker)).findFirst()
                .map(l -> l.substring(l.indexOf(marker) + marker.length()).strip())
                .orElseThrow(() -> new AssertionError("no " + key + "= in the log:\n" + log));
    }

    /** Host pids of the children of every thread of process {@code pid} (/proc/PID/task/TID/children). */
    static List<Long> children(long pid) throws IOException {
        var out = new ArrayList<Long>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    for (String p : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                        if (!p.isEmpty()) out.add(Long.parseLong(p));
                    }
                } catch (java.nio.file.NoSuchFileException e) {
                    // that thread has exited
                }
            }
        }
        return out;
    }
}
