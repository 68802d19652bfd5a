package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.CDIDevice;
import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.Device;
import io.berth.cri.v1.LinuxContainerConfig;
import io.berth.cri.v1.LinuxContainerSecurityContext;
import io.berth.cri.v1.NamespaceMode;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.FileOps;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ContainerConfig.devices end to end, as kubelet's device manager passes a device plugin's
 * allocation: a real host character device made inside the container at another path and allowed
 * in its device cgroup with the permissions asked for, nothing else allowed, and bad requests refused.
 */
@RequiresRoot
class DevicesIT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("dev");
    static final Pods pods = bed.pods();

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
    }

    @Test
    void aHostDeviceIsMadeInsideWithItsNumbersAndOpens() {
        String id = pods.run(runPod("dev-rw", false), container("rw", device("/dev/mydev", "rw")));
        // ls -l: "crw------- 1 root root 10, 229 ..." (busybox prints major, minor)
        String ls = pods.exec(id, "ls", "-l", "/dev/mydev");
        assertTrue(ls.startsWith("c") && ls.matches("(?s).*\\b" + major + ",\\s+" + minor + "\\b.*"), ls);
        assertTrue(ls.contains(" root "), "owned by root as the host node: " + ls);
        assertEquals("opened\n", pods.exec(id, "sh", "-c", "exec 3<>/dev/mydev && echo opened"));
        // Nothing else is allowed: a node the container makes itself cannot be opened (1:11, /dev/kmsg).
        pods.assertMadeDeviceCannotBeOpened(id, 1, 11);
    }

    @Test
    void readOnlyPermissionsRefuseAWriteOpen() {
        String id = pods.run(runPod("dev-r", false), container("r", device("/dev/sub/mydev", "r")));
        assertEquals("read\n", pods.exec(id, "sh", "-c", "exec 3</dev/sub/mydev && echo read"));
        var w = pods.execResult(id, "sh", "-c", "exec 3<>/dev/sub/mydev");
        assertNotEquals(0, w.getExitCode());
        assertTrue(w.getStderr().toStringUtf8().contains("Operation not permitted"), w.getStderr().toStringUtf8());
    }

    @Test
    void badDevicesAreRefusedWithInvalidArgumentNamingThem() throws Exception {
        String pod = runPod("dev-bad", false);
        Files.writeString(bed.dir().resolve("not-a-device"), "x");
        assertInvalid(pod, container("missing", Device.newBuilder().setHostPath("/dev/berth-no-such-device")
                .setContainerPath("/dev/mydev").setPermissions("rw")), "/dev/berth-no-such-device");
        assertInvalid(pod, container("file", Device.newBuilder().setHostPath(bed.dir().resolve("not-a-device").toString())
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
        String id = pods.run(runPod("dev-priv", true), container("priv").setLinux(LinuxContainerConfig.newBuilder()
                .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setPrivileged(true)
                        .setNamespaceOptions(Pods.pid(NamespaceMode.CONTAINER)))));
        assertEquals("opened\n", pods.exec(id, "sh", "-c", "exec 3<>" + hostDevice + " && echo opened"));
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

    static String runPod(String name, boolean privileged) {
        var config = pods.pod(name, NamespaceMode.CONTAINER);
        config.getLinuxBuilder().getSecurityContextBuilder().setPrivileged(privileged);
        return pods.runPod(config);
    }

    static ContainerConfig.Builder container(String name, Device.Builder... devices) {
        var c = pods.container(name, "sleep", "3600");
        for (var d : devices) c.addDevices(d);
        return c;
    }

    static void assertInvalid(String pod, ContainerConfig.Builder config, String named) {
        var e = assertThrows(StatusRuntimeException.class, () -> pods.create(pod, config));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains(named), e.getStatus().getDescription());
    }
}
