package io.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.testing.ProcFs;
import io.berth.kernel.testing.RequiresRoot;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.NamespaceRef;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.State;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * /proc made by the helper process ({@link ProcHelper}), the way kernels before 6.18 need it, forced
 * here with {@code proc_mount = HELPER} on a kernel that would not need it: the container sees its
 * own PID namespace, masked paths stay masked, and nothing of the helper is left on the host (no
 * process, no mount, no directory).
 */
@RequiresRoot
class ProcHelperIT extends ShimContainersTest {
    ContainerSpec.Builder helperSpec(String id, String script) throws IOException {
        return tc.spec(id, script).setProcMount(ContainerSpec.ProcMount.HELPER)
                .addMaskedPaths("/proc/timer_list").addMaskedPaths("/proc/acpi").addReadonlyPaths("/proc/sys");
    }

    @Test
    void aNewPidNamespaceGetsItsOwnProcThroughTheHelper() throws Exception {
        ShimClient c = tc.launch(helperSpec("own", "echo pid=$$; echo cmdline=$(tr '\\0' ' ' < /proc/1/cmdline);"
                + " echo pids=$(ls /proc | grep '^[0-9]' | tr '\\n' ' '); " + MASKS
                + " echo proc=$(grep ' /proc ' /proc/self/mountinfo | cut -d' ' -f6)").build());
        int pid = c.state().getPid();
        // Held at the start gate: the helper has come and gone already.
        assertHelperGone(c, pid, List.of(pid));
        c.start();
        State s = TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertEquals(0, s.getExitCode(), log);
        assertTrue(log.contains(" stdout F pid=1\n"), log);
        assertTrue(log.contains(" stdout F cmdline=sh -c echo pid=$$;"), "pid 1 in /proc is the container's: " + log);
        String pids = line(log, "pids=");
        assertTrue(pids.startsWith("1 "), log);
        for (String p : pids.trim().split(" ")) {
            // The helper was pid 2; the shell's children come after it. No host pid shows.
            assertTrue(Integer.parseInt(p) == 1 || Integer.parseInt(p) > 2 && Integer.parseInt(p) < 20, "pid " + p + ": " + log);
        }
        assertMasked(log);
        assertEquals("rw,nosuid,nodev,noexec,relatime", line(log, "proc="), "one /proc, with its flags: " + log);
        assertTrue(shimLog(c).contains("/proc made through a helper (proc_mount is helper)"), shimLog(c));
    }

    @Test
    void aJoinedPidNamespaceGetsItsProcThroughTheHelperToo() throws Exception {
        // A pod's shared PID namespace: the first container's, joined by the second.
        ShimClient init = tc.launch(helperSpec("init", "exec sleep 100").build());
        init.start();
        int initPid = init.state().getPid();
        var spec = helperSpec("joiner", "echo pid=$$; echo one=$(tr '\\0' ' ' < /proc/1/cmdline); ps; " + MASKS);
        var refs = new ArrayList<>(spec.getNamespacesList());
        refs.removeIf(r -> r.getType() == NamespaceRef.Type.PID);
        refs.add(NamespaceRef.newBuilder().setType(NamespaceRef.Type.PID).setPath("/proc/" + initPid + "/ns/pid").build());
        spec.clearNamespaces().addAllNamespaces(refs);
        ShimClient joiner = tc.launch(spec.build());
        int joinerPid = joiner.state().getPid();
        assertHelperGone(joiner, joinerPid, List.of(initPid, joinerPid));
        joiner.start();
        State s = TestContainers.awaitExit(joiner, Duration.ofSeconds(10));
        String log = TestContainers.log(joiner);
        assertEquals(0, s.getExitCode(), log);
        assertFalse(log.contains(" stdout F pid=1\n"), "the joiner is not pid 1 of the shared namespace: " + log);
        assertTrue(log.contains(" stdout F one=sleep 100\n"), "pid 1 is the first container's: " + log);
        assertTrue(log.lines().anyMatch(l -> l.matches(".* stdout F\\s+1 root\\s+.*sleep 100")), log);
        assertMasked(log);
        assertEquals(List.of((long) initPid), inPidNamespaceOf(initPid), "the shared namespace holds the first container only");
        init.kill(9, false);
        TestContainers.awaitExit(init, Duration.ofSeconds(10));
    }

    @Test
    void theHostsPidNamespaceNeedsNoHelper() throws Exception {
        var spec = helperSpec("hostpid", "echo self=$$; [ -d /proc/$$ ] && echo sees-itself; " + MASKS);
        var refs = new ArrayList<>(spec.getNamespacesList());
        refs.removeIf(r -> r.getType() == NamespaceRef.Type.PID);
        spec.clearNamespaces().addAllNamespaces(refs);
        ShimClient c = tc.launch(spec.build());
        c.start();
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertEquals(Integer.toString(c.state().getPid()), line(log, "self="), "the host's pids: " + log);
        assertTrue(log.contains(" stdout F sees-itself\n"), log);
        assertMasked(log);
        assertFalse(shimLog(c).contains("through a helper"), shimLog(c));
    }

    /** Shell lines that report the masked and read-only paths of {@link #helperSpec}. */
    static final String MASKS = "echo timer_list=$(wc -c < /proc/timer_list); echo acpi=$(ls /proc/acpi | wc -l);"
            + " echo x > /proc/sys/kernel/hostname || true;";

    private static void assertMasked(String log) {
        assertEquals("0", line(log, "timer_list="), "masked /proc/timer_list reads empty: " + log);
        assertEquals("0", line(log, "acpi="), "masked /proc/acpi is an empty directory: " + log);
        assertTrue(log.contains(" stderr F sh: can't create /proc/sys/kernel/hostname: Read-only file system\n"),
                "/proc/sys is read-only: " + log);
    }

    /** No helper process (no child of the shim but the container's, nothing else in its PID namespace), mount or directory left. */
    private static void assertHelperGone(ShimClient c, int containerPid, List<Integer> namespaceMembers) throws IOException {
        long shimPid = Long.parseLong(Files.readString(c.bundle().resolve("shim.pid")).trim().split("\\s+")[0]);
        assertEquals(List.of((long) containerPid), ProcFs.children(shimPid), "the shim's only child is the container's process");
        assertEquals(namespaceMembers.stream().map(Integer::longValue).sorted().toList(), inPidNamespaceOf(containerPid),
                "processes in the container's PID namespace");
        assertFalse(Files.exists(c.bundle().resolve(ProcHelper.MOUNT_POINT)), "the helper's mount point is removed");
        String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
        assertFalse(mountinfo.contains(ProcHelper.MOUNT_POINT), "no helper mount on the host:\n" + mountinfo);
    }

    /** Host pids of every process in the PID namespace of {@code pid}, sorted. */
    private static List<Long> inPidNamespaceOf(int pid) throws IOException {
        Path ns = Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/pid"));
        var out = new ArrayList<Long>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (Files.readSymbolicLink(p.resolve("ns/pid")).equals(ns)) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone meanwhile, or a kernel thread
                }
            }
        }
        return out.stream().sorted().toList();
    }

    private static String line(String log, String prefix) {
        return log.lines().filter(l -> l.contains(" stdout F " + prefix)).findFirst()
                .map(l -> l.substring(l.indexOf(" stdout F " + prefix) + 10 + prefix.length()).strip())
                .orElseThrow(() -> new AssertionError("no line " + prefix + " in " + log));
    }

    private static String shimLog(ShimClient c) throws IOException {
        return Files.readString(c.bundle().resolve("shim.log"));
    }
}
