package io.berth.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process-level calls: waiting for one pid, resource limits of another process, pidfds, pivot_root. */
public final class Processes {
    private static final long SYS_PIVOT_ROOT = 155;
    private static final long SYS_PRLIMIT64 = 302;
    private static final long SYS_PIDFD_OPEN = 434;
    public static final int WNOHANG = 1;

    private static final Libc LIBC = Libc.INSTANCE;

    private Processes() {
    }

    /** How a child ended: exit code, or the signal that killed it. */
    public record WaitStatus(int exitCode, int signal) {
        static WaitStatus decode(int status) {
            int sig = status & 0x7f;
            if (sig == 0) {
                return new WaitStatus((status >> 8) & 0xff, 0);
            }
            return new WaitStatus(128 + sig, sig);
        }
    }

    /**
     * waitpid(2) for exactly this pid (never -1: that would steal the JDK's Process statuses).
     * Any thread of the JVM may wait: a child whose spawning thread exited is re-parented to another
     * thread of the same thread group. Returns null with WNOHANG when it is still running.
     */
    public static WaitStatus waitpid(int pid, int options) {
        int[] status = new int[1];
        while (true) {
            try {
                int r = LIBC.waitpid(pid, status, options);
                return r == 0 ? null : WaitStatus.decode(status[0]);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException("waitpid", "pid " + pid, e.getErrorCode());
                }
            }
        }
    }

    /** pidfd_open(2): a descriptor that stays bound to this process even if the number is reused. */
    public static Fd pidfdOpen(int pid) {
        try {
            return new Fd((int) LIBC.syscall(SYS_PIDFD_OPEN, (long) pid, 0L), "pidfd " + pid);
        } catch (LastErrorException e) {
            throw new SyscallException("pidfd_open", "pid " + pid, e.getErrorCode());
        }
    }

    /** pivot_root(2) for the calling thread (it must have unshared CLONE_FS and CLONE_NEWNS). */
    public static void pivotRoot(Path newRoot, Path putOld) {
        try {
            LIBC.syscall(SYS_PIVOT_ROOT, newRoot.toString(), putOld.toString());
        } catch (LastErrorException e) {
            throw new SyscallException("pivot_root", newRoot + " " + putOld, e.getErrorCode());
        }
    }

    /** The soft and hard limit of {@code resource} for {@code pid} (prlimit(2), no change). */
    public static long[] getrlimit(int pid, int resource) {
        try (Memory old = new Memory(16)) {
            LIBC.syscall(SYS_PRLIMIT64, (long) pid, (long) resource, com.sun.jna.Pointer.NULL, old);
            return new long[] {old.getLong(0), old.getLong(8)};
        } catch (LastErrorException e) {
            throw new SyscallException("prlimit", "pid " + pid + " resource " + resource, e.getErrorCode());
        }
    }

    /** prlimit(2): sets another process's limit (RLIM_INFINITY is -1). */
    public static void setrlimit(int pid, int resource, long soft, long hard) {
        try (Memory m = new Memory(16)) {
            m.setLong(0, soft);
            m.setLong(8, hard);
            LIBC.syscall(SYS_PRLIMIT64, (long) pid, (long) resource, m, com.sun.jna.Pointer.NULL);
        } catch (LastErrorException e) {
            throw new SyscallException("prlimit", "pid " + pid + " resource " + resource + " soft " + soft + " hard " + hard,
                    e.getErrorCode());
        }
    }

    /**
     * The start time of a process (field 22 of /proc/PID/stat, clock ticks since boot), so that a
     * recycled pid is not mistaken for the process we know; -1 when it does not exist.
     */
    public static long startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // comm (field 2) may contain spaces and parentheses: parse after the last ')'.
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(rest[19]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
