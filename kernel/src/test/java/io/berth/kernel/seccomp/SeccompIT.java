package io.berth.kernel.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.DedicatedThread;
import io.berth.kernel.testing.RequiresRoot;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Filters on the real kernel, installed on a dedicated thread only (the rest of the JVM stays unfiltered). */
@RequiresRoot
class SeccompIT {
    @TempDir
    Path dir;

    @Test
    void aFilterAppliesToItsThreadOnly() throws Exception {
        var profile = OciSeccomp.parse("""
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                              {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                               "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]}]}
                """, Set.of(), "6.18.0");
        byte[] filter = BpfCompiler.compile(profile);
        String result = DedicatedThread.call("seccomp-test", () -> {
            Seccomp.install(filter);
            assertThrows(AccessDeniedException.class, () -> Files.createDirectory(dir.resolve("denied")));
            return "filtered";
        });
        assertEquals("filtered", result);
        Files.createDirectory(dir.resolve("allowed"));
        assertTrue(Files.isDirectory(dir.resolve("allowed")));
    }

    @Test
    void runtimeDefaultCompilesAndAllowsOrdinaryWork() throws Exception {
        byte[] filter = BpfCompiler.compile(RuntimeDefault.forCapabilities(Set.of("CAP_CHOWN")));
        assertTrue(filter.length / 8 < 4096);
        String r = DedicatedThread.call("seccomp-default", () -> {
            io.berth.kernel.Credentials.noNewPrivs();
            Seccomp.install(filter);
            Files.writeString(dir.resolve("f"), "x");
            // mount needs CAP_SYS_ADMIN in the profile: refused with EPERM even for root.
            var e = assertThrows(io.berth.kernel.SyscallException.class,
                    () -> io.berth.kernel.Syscalls.mount("tmpfs", dir, "tmpfs", 0, null));
            return e.getMessage();
        });
        assertTrue(r.contains("EPERM"), r);
    }

    @Test
    void kernelVersionsCompareByMajorMinor() {
        assertTrue(OciSeccomp.compareKernel("6.18.44-berth", "4.8") > 0);
        assertEquals(0, OciSeccomp.compareKernel("4.8.1", "4.8"));
        assertTrue(OciSeccomp.compareKernel("4.7", "4.8") < 0);
    }
}
