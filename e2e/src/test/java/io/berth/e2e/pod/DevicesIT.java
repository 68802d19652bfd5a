package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.CDIDevice;
import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.Device;
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
import io.berth.e2e.AgentProcess;
import io.berth.e2e.CriClient;
import io.berth.e2e.fixtures.TestRegistry;
import io.berth.kernel.FileOps;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ContainerConfig.devices end to end, as kubelet's device manager passes a device plugin's
 * allocation: a real host character device made inside the container at another path and allowed
 * in its device cgroup with the permissions asked for, nothing else allowed, and bad requests refused.
 */
@RequiresRoot
class DevicesIT {
    @TempDir
    static Path dir;

    static TestRegistry registry;
    static AgentProcess agent;
    static CriClient cri;
    static String image;
    static final String TAG = UUID.randomUUID().toString().substring(0, 6);
    static final String CGROUP_PARENT = "/berth-e2e-dev-" + TAG;
    /** A real host character device that root may open with no side effect. */
    static Path hostDevice;
    static long major;
    static long minor;

    @BeforeAll
    static void start() throws Exception {
        hostDevice = List.of("/dev/fuse", "/dev/loop-control", "/dev/net/tun").stream().map(Path::of)
                .filter(p -> Files.exists(p, LinkOption.NOFOLLOW_LINKS) && isCharDevice(p)).findFirst()
                .orElseThrow(() -> new AssertionError("no /dev/fuse, /dev/loop-control or /dev/net/tun on this host"));
        long rdev = (Long) Files.getAttribute(hostDevice, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
        major = FileOps.major(rdev);
        minor = FileOps.minor(rdev);
        var bed = Testbed.start(dir, TAG);
        registry = bed.registry();
        image = bed.image();
        agent = bed.agent();
        cri = bed.cri();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            Testbed.stop(registry, agent, cri, TAG);
        } finally {
            Testbed.removeCgroupParent(CGROUP_PARENT);
        }
    }

    @Test
    void aHostDeviceIsMadeInsideWithItsNumbersAndOpens() {
        String id = run(runPod("dev-rw", false), container("rw", device("/dev/mydev", "rw")));
        // ls -l: "crw------- 1 root root 10, 229 ..." (busybox prints major, minor)
        String ls = exec(id, "ls", "-l", "/dev/mydev");
        assertTrue(ls.startsWith("c") && ls.matches("(?s).*\\b" + major + ",\\s+" + minor + "\\b.*"), ls);
        assertTrue(ls.contains(" root "), "owned by root as the host node: " + ls);
        assertEquals("opened\n", exec(id, "sh", "-c", "exec 3<>/dev/mydev && echo opened"));
        // Nothing else is allowed: a node the container makes itself (mknod is allowed) cannot be opened.
        exec(id, "mknod", "/tmp/kmsg", "c", "1", "11");
        var r = execResult(id, "sh", "-c", "exec 3</tmp/kmsg");
        assertNotEquals(0, r.getExitCode());
        assertTrue(r.getStderr().toStringUtf8().contains("Operation not permitted"), r.getStderr().toStringUtf8());
    }

    @Test
    void readOnlyPermissionsRefuseAWriteOpen() {
        String id = run(runPod("dev-r", false), container("r", device("/dev/sub/mydev", "r")));
        assertEquals("read\n", exec(id, "sh", "-c", "exec 3</dev/sub/mydev && echo read"));
        var w = execResult(id, "sh", "-c", "exec 3<>/dev/sub/mydev");
        assertNotEquals(0, w.getExitCode());
        assertTrue(w.getStderr().toStringUtf8().contains("Operation not permitted"), w.getStderr().toStringUtf8());
    }

    @Test
    void badDevicesAreRefusedWithInvalidArgumentNamingThem() throws Exception {
        String pod = runPod("dev-bad", false);
        Files.writeString(dir.resolve("not-a-device"), "x");
        assertInvalid(pod, container("missing", Device.newBuilder().setHostPath("/dev/berth-no-such-device")
                .setContainerPath("/dev/mydev").setPermissions("rw")), "/dev/berth-no-such-device");
        assertInvalid(pod, container("file", Device.newBuilder().setHostPath(dir.resolve("not-a-device").toString())
                .setContainerPath("/dev/mydev").setPermissions("rw")), "not a character or block device");
        assertInvalid(pod, container("relative", Device.newBuilder().setHostPath(hostDevice.toString())
                .setContainerPath("dev/mydev").setPermissions("rw")), "container_path is not absolute");
        assertInvalid(pod, container("perms", Device.newBuilder().setHostPath(hostDevice.toString())
                .setContainerPath("/dev/mydev").setPermissions("rwx")), "rwx");
        assertInvalid(pod, container("cdi").addCDIDevices(CDIDevice.newBuilder().setName("vendor.example/gpu=0")),
                "CDI");
    }

    @Test
    void aPrivilegedContainerStillGetsEveryHostDevice() {
        String id = run(runPod("dev-priv", true), container("priv").setLinux(LinuxContainerConfig.newBuilder()
                .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setPrivileged(true)
                        .setNamespaceOptions(NAMESPACES))));
        assertEquals("opened\n", exec(id, "sh", "-c", "exec 3<>" + hostDevice + " && echo opened"));
    }

    static boolean isCharDevice(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & FileOps.S_IFMT) == FileOps.S_IFCHR;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    static Device.Builder device(String containerPath, String permissions) {
        return Device.newBuilder().setHostPath(hostDevice.toString()).setContainerPath(containerPath)
                .setPermissions(permissions);
    }

    static final NamespaceOption NAMESPACES = NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER).build();

    static String runPod(String name, boolean privileged) {
        var config = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("e2e").setUid(UUID.randomUUID().toString()))
                .setHostname(name)
                .setLogDirectory(dir.resolve("logs").resolve(name).toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(CGROUP_PARENT + "/pod-" + name)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setPrivileged(privileged)
                                .setNamespaceOptions(NAMESPACES)))
                .build();
        return cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build()).getPodSandboxId();
    }

    static ContainerConfig.Builder container(String name, Device.Builder... devices) {
        var c = ContainerConfig.newBuilder()
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NAMESPACES)))
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addAllCommand(List.of("sleep", "3600"))
                .setLogPath(name + "/0.log");
        for (var d : devices) c.addDevices(d);
        return c;
    }

    static String create(String pod, ContainerConfig.Builder config) {
        return cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setConfig(config).setSandboxConfig(PodSandboxConfig.newBuilder()).build()).getContainerId();
    }

    static String run(String pod, ContainerConfig.Builder config) {
        String id = create(pod, config);
        cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    static void assertInvalid(String pod, ContainerConfig.Builder config, String named) {
        var e = assertThrows(StatusRuntimeException.class, () -> create(pod, config));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains(named), e.getStatus().getDescription());
    }

    static ExecSyncResponse execResult(String id, String... cmd) {
        return cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addAllCmd(List.of(cmd))
                .setTimeout(20).build());
    }

    static String exec(String id, String... cmd) {
        var r = execResult(id, cmd);
        assertEquals(0, r.getExitCode(), "exec " + List.of(cmd) + ": " + r.getStderr().toStringUtf8());
        return r.getStdout().toStringUtf8();
    }
}
