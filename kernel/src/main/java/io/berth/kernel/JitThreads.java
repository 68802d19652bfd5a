package io.berth.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A HotSpot JVM's JIT compiler threads, found by name among a process's tasks in /proc. HotSpot
 * names them "C1 CompilerThreadN" and "C2 CompilerThreadN" (cut to 15 characters in /proc).
 * Linux keeps nice per thread, and a thread inherits its creator's: the compiler threads HotSpot
 * adds later are started by a compiler thread, so a nice value set here holds for them too.
 */
public final class JitThreads {
    private JitThreads() {
    }

    public static boolean isCompiler(String comm) {
        return comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre");
    }

    /** Sets the nice value of this JVM's compiler threads; returns how many there were. */
    public static int renice(int nice) throws IOException {
        int reniced = 0;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                if (isCompiler(comm(task))) {
                    Processes.setNiceOfThread(Integer.parseInt(task.getFileName().toString()), nice);
                    reniced++;
                }
            }
        }
        return reniced;
    }

    /**
     * The CPU a JVM's compiler threads have used so far (the user time of its compiler tasks,
     * /proc/PID/task/TID/stat field 14), in clock ticks. Not the JVM's own
     * {@code java.ci.totalTime}: that counts a compilation's elapsed time, and on a node whose cores
     * are busy elsewhere it was 3-7 times the compiler threads' CPU.
     */
    public static long userTicks(long pid) throws IOException {
        long ticks = 0;
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    if (!isCompiler(comm(task))) continue;
                    // task/TID/stat, not /proc/TID/stat: that one sums the whole process's times
                    ticks += Processes.stat(task.resolve("stat")).number(14);
                } catch (IOException gone) {
                    // a compiler thread that ended meanwhile (the JVM starts and ends them as needed)
                }
            }
        }
        return ticks;
    }

    private static String comm(Path task) {
        try {
            return Files.readString(task.resolve("comm")).strip();
        } catch (IOException gone) {
            return ""; // a thread that ended meanwhile
        }
    }
}
