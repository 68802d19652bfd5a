package io.berth.kernel.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What tests read of another process in /proc (proc(5)); threads that end meanwhile are skipped. */
public final class ProcFs {
    private ProcFs() {
    }

    /** Host pids of the children of every thread of process {@code pid} (/proc/PID/task/TID/children). */
    public static List<Long> children(long pid) throws IOException {
        var out = new ArrayList<Long>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    for (String p : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                        if (!p.isEmpty()) out.add(Long.parseLong(p));
                    }
                } catch (NoSuchFileException e) {
                    // that thread has exited
                }
            }
        }
        return out;
    }

    /** How many of process {@code pid}'s mappings KSM may merge: "mg" in their smaps VmFlags. */
    public static int mergeableMappings(long pid) throws IOException {
        int n = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (line.startsWith("VmFlags:") && line.contains(" mg")) n++;
        }
        return n;
    }
}
