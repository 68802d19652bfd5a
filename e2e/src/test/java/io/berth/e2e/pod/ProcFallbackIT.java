package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.NamespaceMode;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.testing.ProcFs;
import io.berth.kernel.testing.RequiresRoot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * /proc the way kernels before 6.18 get it, through a helper process in the container's PID
 * namespace, forced with the agent's {@code proc_mount = "helper"} on this kernel: containers in a
 * PID namespace of their own, in their pod's shared one (and its init) and in a target's see that
 * namespace in /proc, with the default masked and read-only paths, and nothing of the helper is
 * left on the host.
 */
@RequiresRoot
class ProcFallbackIT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("pf").withAgentConfig("proc_mount = \"helper\"\n");
    static final Pods pods = bed.pods();

    static final String HELPER_USED = "/proc made through a helper (proc_mount is helper)";

    /** Shell lines reporting what /proc shows and whether kubelet's default masked and read-only paths hold. */
    static final String PROBE = "echo pid=$$; echo one=$(tr '\\0' ' ' < /proc/1/cmdline);"
            + " echo pids=$(ls /proc | grep '^[0-9]' | tr '\\n' ' ');"
            + " echo timer_list=$(wc -c < /proc/timer_list); echo keys=$(wc -c < /proc/keys);"
            + " echo acpi=$(ls /proc/acpi | wc -l); echo x > /proc/sys/kernel/hostname || true;"
            + " echo proc=$(grep ' /proc ' /proc/self/mountinfo | cut -d' ' -f6)";

    @AfterEach
    void nothingOfTheHelperIsLeft() throws IOException {
        String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
        assertFalse(mountinfo.contains("proc-helper"), "no helper mount on the host:\n" + mountinfo);
        try (var bundles = Files.walk(bed.agent().dir().resolve("run"), 3)) {
            assertEquals(List.of(), bundles.filter(p -> p.getFileName().toString().equals("proc-helper")).toList(),
                    "no helper mount point in any bundle");
        }
        // Every shim (of a container, or of a pod's init) has no child but its container's process.
        try (var shims = Files.walk(bed.agent().dir().resolve("run"), 3)) {
            for (Path pidFile : shims.filter(p -> p.getFileName().toString().equals("shim.pid")).toList()) {
                long shim = Long.parseLong(Files.readString(pidFile).trim().split("\\s+")[0]);
                if (!Files.exists(Path.of("/proc/" + shim))) continue;
                List<Long> children = ProcFs.children(shim);
                assertTrue(children.size() <= 1, pidFile + ": " + children);
                for (long c : children) {
                    assertFalse(Files.readString(Path.of("/proc/" + c + "/comm")).strip().equals("mount"),
                            "a helper of " + pidFile + " lives on");
                }
            }
        }
    }

    private static String shimLog(String id) throws IOException {
        return Files.readString(bed.agent().bundle(id).resolve("shim.log"));
    }

    private static void assertProbe(String log, String pidOne) {
        assertTrue(Pods.value(log, "one").startsWith(pidOne), "pid 1 in /proc is " + pidOne + ":\n" + log);
        for (String p : Pods.value(log, "pids").split(" ")) {
            assertTrue(Integer.parseInt(p) < 100, "the namespace's own pids only, no host pid (" + p + "):\n" + log);
        }
        assertEquals("0", Pods.value(log, "timer_list"), "masked /proc/timer_list:\n" + log);
        assertEquals("0", Pods.value(log, "keys"), "masked /proc/keys:\n" + log);
        assertEquals("0", Pods.value(log, "acpi"), "masked /proc/acpi:\n" + log);
        assertTrue(log.contains(" stderr F sh: can't create /proc/sys/kernel/hostname: Read-only file system\n"),
                "read-only /proc/sys:\n" + log);
        assertEquals("rw,nosuid,nodev,noexec,relatime", Pods.value(log, "proc"), "one /proc, nosuid,nodev,noexec:\n" + log);
    }

    @Test
    void aContainerWithItsOwnPidNamespace() throws Exception {
        String pod = pods.runPod("own", NamespaceMode.CONTAINER);
        String id = pods.run(pod, pods.container("probe", Pods.pid(NamespaceMode.CONTAINER), "sh", "-c", PROBE));
        var s = pods.awaitExit(id, Duration.ofSeconds(30));
        String log = pods.log("own", "probe");
        assertEquals(0, s.getExitCode(), log);
        assertEquals("1", Pods.value(log, "pid"), log);
        assertProbe(log, "sh -c echo pid=$$;");
        assertTrue(shimLog(id).contains(HELPER_USED), shimLog(id));
    }

    @Test
    void containersSharingTheirPodsPidNamespace() throws Exception {
        String pod = pods.runPod("shared", NamespaceMode.POD);
        String a = pods.run(pod, pods.container("a", Pods.pid(NamespaceMode.POD), "sleep", "600"));
        String b = pods.run(pod, pods.container("b", Pods.pid(NamespaceMode.POD), "sh", "-c", PROBE));
        pods.awaitExit(b, Duration.ofSeconds(30));
        String log = pods.log("shared", "b");
        assertProbe(log, "/pause");
        String ps = pods.awaitExec(a, List.of("sleep 600", "/pause"), "ps");
        assertTrue(ps.lines().anyMatch(l -> l.trim().startsWith("1 ") && l.contains("/pause")), "pid 1 is the pod's init:\n" + ps);
        assertTrue(shimLog(a).contains(HELPER_USED) && shimLog(b).contains(HELPER_USED), shimLog(a));
        Path initLog = bed.agent().dir().resolve("run/p").resolve(pod.substring(0, 16)).resolve("shim.log");
        assertTrue(Files.readString(initLog).contains(HELPER_USED), "the pod's init got its /proc the same way");
    }

    @Test
    void aDebugContainerInItsTargetsPidNamespace() throws Exception {
        String pod = pods.runPod("target", NamespaceMode.CONTAINER);
        String app = pods.run(pod, pods.container("app", Pods.pid(NamespaceMode.CONTAINER), "sleep", "600"));
        String debug = pods.run(pod, pods.container("debugger", Pods.target(app), "sh", "-c", PROBE));
        var s = pods.awaitExit(debug, Duration.ofSeconds(30));
        String log = pods.log("target", "debugger");
        assertEquals(0, s.getExitCode(), log);
        assertProbe(log, "sleep 600");
        assertTrue(shimLog(debug).contains(HELPER_USED), shimLog(debug));
    }
}
