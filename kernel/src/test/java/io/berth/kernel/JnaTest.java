package io.berth.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JnaTest {
    @TempDir
    Path dir;

    @Test
    void bindingLibcSetsThePlatformPathToDirectoriesThatExist() {
        assertTrue(Syscalls.gettid() > 0);
        String path = System.getProperty(Jna.PLATFORM_PATH);
        assertFalse(path == null || path.isBlank(), "set before JNA's NativeLibrary initialised");
        for (String d : path.split(File.pathSeparator)) {
            assertTrue(Files.isDirectory(Path.of(d)), d);
        }
    }

    /** A JVM that binds libc through berth runs no other program: JNA's `ldconfig -p` is gone. */
    @Test
    void aJvmBindingLibcExecsNothing() throws Exception {
        Path strace = Path.of("/usr/bin/strace");
        if (!Files.isExecutable(strace)) {
            if ("true".equals(System.getenv("CI"))) {
                fail("strace is missing (.ci/run installs it)");
            }
            assumeTrue(false, "strace is not installed; skipped");
        }
        String java = ProcessHandle.current().info().command().orElseThrow();
        Path trace = dir.resolve("execve.txt");
        var p = new ProcessBuilder(strace.toString(), "-f", "-qq", "-e", "trace=execve", "-o", trace.toString(),
                java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                GettidMain.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("tid "), out);
        List<String> execs = Files.readAllLines(trace).stream().filter(l -> l.contains("execve(")).toList();
        assertEquals(1, execs.size(), "only the JVM itself: " + execs);
    }

    /** Run in a child JVM by {@link #aJvmBindingLibcExecsNothing}. */
    public static final class GettidMain {
        public static void main(String[] args) {
            System.out.println("tid " + Syscalls.gettid());
        }
    }
}
