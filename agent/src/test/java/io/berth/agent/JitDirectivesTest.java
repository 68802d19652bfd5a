package io.berth.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * agent/jit-directives.json, which bin/berth gives the agent's JVM: the JVM accepts it, and every
 * method it names still exists, so that a renamed method in a newer netty or JDK fails the build
 * instead of being compiled by C2 again without notice.
 */
class JitDirectivesTest {
    /** The file, from the agent module's directory (where Maven runs its tests). */
    private static final Path FILE = Path.of("jit-directives.json").toAbsolutePath();

    @Test
    void theJvmAcceptsTheFile() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-XX:+UnlockDiagnosticVMOptions", "-XX:CompilerDirectivesFile=" + FILE, "-version")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("1 compiler directives added"), out);
    }

    @Test
    void everyMethodNamedExists() throws Exception {
        List<String> patterns = patterns(Files.readString(FILE));
        assertFalse(patterns.isEmpty(), "no match patterns in " + FILE);
        for (String pattern : patterns) {
            int dot = pattern.lastIndexOf('.');
            String type = pattern.substring(0, dot).replace('/', '.');
            String method = pattern.substring(dot + 1);
            Class<?> c = Class.forName(type, false, getClass().getClassLoader());
            assertTrue(Arrays.stream(c.getDeclaredMethods()).anyMatch(m -> m.getName().equals(method)),
                    type + " has no method " + method + " any more: update " + FILE);
        }
    }

    /** The quoted strings of the file's {@code match} lists, comments left out. */
    static List<String> patterns(String json) {
        var out = new ArrayList<String>();
        for (String line : json.lines().toList()) {
            if (line.strip().startsWith("//")) continue;
            var m = Pattern.compile("\"([^\"]+)\"").matcher(line);
            while (m.find()) out.add(m.group(1));
        }
        return out;
    }
}
