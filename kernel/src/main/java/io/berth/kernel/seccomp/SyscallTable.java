package io.berth.kernel.seccomp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** x86_64 syscall numbers by name, from a table generated from the kernel's asm/unistd_64.h. */
public final class SyscallTable {
    private static final Map<String, Integer> X86_64 = load();

    private SyscallTable() {
    }

    private static Map<String, Integer> load() {
        var map = new HashMap<String, Integer>();
        try (var in = SyscallTable.class.getResourceAsStream("x86_64.syscalls");
             var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.startsWith("#") && !line.isBlank()) {
                    String[] f = line.split(" ");
                    map.put(f[0], Integer.parseInt(f[1]));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.copyOf(map);
    }

    /** The number, or -1 for a name this architecture does not have (e.g. {@code chown32}): such rules are skipped, as libseccomp does. */
    public static int number(String name) {
        return X86_64.getOrDefault(name, -1);
    }
}
