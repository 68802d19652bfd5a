package io.berth.kernel.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.Bpf;
import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import io.berth.kernel.testing.RequiresRoot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Device programs in the real kernel: a cgroup in the host's cgroup2 hierarchy (a device program
 * attaches to any cgroup2 directory, controllers or not, so this runs on a hybrid v1 host too),
 * a child process moved into it (its v1 cgroups stay as they are), and the opens it may or may not do.
 */
@RequiresRoot
class DevicesBpfIT {
    @TempDir
    Path dir;

    Cgroup cgroup;
    Process child;

    @BeforeEach
    void createCgroup() throws IOException {
        Cgroups v2 = Cgroups.detect(cgroup2Root());
        assertTrue(v2.isV2());
        cgroup = v2.create("/berth-it-devices-" + UUID.randomUUID().toString().substring(0, 8), Resources.NONE);
    }

    @AfterEach
    void removeCgroup() throws IOException {
        if (child != null) child.destroyForcibly();
        if (cgroup != null) {
            cgroup.remove(Duration.ofSeconds(10));
            assertFalse(cgroup.exists(), cgroup + " is gone");
        }
    }

    @Test
    void aChildInTheCgroupOpensOnlyTheAllowedDevices() throws Exception {
        cgroup.allowDevicesOnly(List.of(DeviceRule.parse("c 1:3 rw")));
        // The fd of the program is closed by now: the cgroup holds the program itself.
        assertEquals(1, attached(), "one program attached");
        String out = runInCgroup("""
                for d in /dev/null /dev/zero; do (exec 3<"$d" && echo "$d: opened") 2>&1; done
                """);
        assertTrue(out.contains("/dev/null: opened"), out);
        assertFalse(out.contains("/dev/zero: opened"), out);
        assertTrue(out.contains("/dev/zero: Operation not permitted"), "EPERM from the device program: " + out);
        // Outside the cgroup nothing changed.
        try (var in = Files.newInputStream(Path.of("/dev/zero"))) {
            assertEquals(0, in.read());
        }
    }

    @Test
    void wildcardMajorTypeAndReadOnlyRulesInTheKernel() throws Exception {
        // A char node 7:0 is /dev/vcs, a block node 7:0 is /dev/loop0: made here, so no host device is touched.
        FileOps.mknod(dir.resolve("char70"), FileOps.S_IFCHR | 0600, FileOps.makedev(7, 0));
        FileOps.mknod(dir.resolve("block70"), FileOps.S_IFBLK | 0600, FileOps.makedev(7, 0));
        cgroup.allowDevicesOnly(List.of(DeviceRule.parse("c *:5 r"), DeviceRule.parse("b 7:0 r")));
        String out = runInCgroup("""
                (exec 3</dev/zero && echo "zero read: opened") 2>&1
                (exec 3>/dev/zero && echo "zero write: opened") 2>&1
                (exec 3<%1$s/char70 && echo "char70: opened") 2>&1
                (exec 3<%1$s/block70 && echo "block70: opened") 2>&1
                """.formatted(dir));
        assertTrue(out.contains("zero read: opened"), "c *:5 matches 1:5: " + out);
        assertTrue(out.contains("/dev/zero: Operation not permitted"), "r only: no write open: " + out);
        assertTrue(out.contains("char70: Operation not permitted"), "a char 7:0 is not the block 7:0 allowed: " + out);
        // Allowed: opened, or refused by the loop driver itself (ENXIO when it is absent), never EPERM.
        assertFalse(out.contains("block70: Operation not permitted"), out);
    }

    @Test
    void attachingAgainReplacesTheProgram() throws Exception {
        cgroup.allowDevicesOnly(List.of(DeviceRule.parse("c 1:5 rw")));
        cgroup.allowDevicesOnly(List.of(DeviceRule.parse("c 1:3 rw")));
        assertEquals(1, attached(), "a retried create leaves one program, not two");
        String out = runInCgroup("(exec 3</dev/zero && echo \"zero: opened\") 2>&1\n");
        assertTrue(out.contains("/dev/zero: Operation not permitted"), "the second list is in force: " + out);
    }

    @Test
    void aRefusedProgramCarriesTheVerifierLog() {
        // exit without setting r0: the verifier refuses to return an uninitialised register.
        byte[] bad = {(byte) 0x95, 0, 0, 0, 0, 0, 0, 0};
        var e = assertThrows(SyscallException.class, () -> Bpf.loadProgram(Bpf.BPF_PROG_TYPE_CGROUP_DEVICE,
                Bpf.BPF_CGROUP_DEVICE, bad, DeviceFilter.LICENSE, "berth_bad").close());
        assertTrue(e.getMessage().contains("BPF_PROG_LOAD") && e.getMessage().contains("verifier log: ")
                && e.getMessage().contains("R0"), e.getMessage());
    }

    private int attached() throws IOException {
        Path d = cgroup2Root().resolve(cgroup.path().substring(1));
        try (Fd fd = Syscalls.open(d, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY)) {
            return Bpf.query(fd, Bpf.BPF_CGROUP_DEVICE).length;
        }
    }

    /**
     * Starts {@code sh}, which waits on stdin until it has been moved into the cgroup, then runs
     * {@code script}; returns its output once it has exited.
     */
    private String runInCgroup(String script) throws Exception {
        child = new ProcessBuilder("sh", "-c", "read go\n" + script).redirectErrorStream(true).start();
        cgroup.addProcess((int) child.pid());
        child.getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
        child.getOutputStream().close();
        assertTrue(child.waitFor(20, TimeUnit.SECONDS), "the child exits");
        return new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Where this host mounts cgroup2: /sys/fs/cgroup itself (v2) or its unified directory (hybrid). */
    static Path cgroup2Root() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER (proc(5))
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash > 0 && f[dash + 1].equals("cgroup2") && f[4].startsWith("/sys/fs/cgroup")) {
                return Path.of(f[4]);
            }
        }
        throw new IOException("no cgroup2 hierarchy mounted under /sys/fs/cgroup");
    }
}
