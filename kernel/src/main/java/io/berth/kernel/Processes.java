package io.berth.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process-level calls: waiting for one pid, resource limits of another process, pidfds, pivot_root. */
public final class Processes {
    private static final long SYS_PIVOT_ROOT = 155;
    private static final long SYS_PRLIMIT64 = 302;
    private static final long SYS_PIDFD_OPEN = 434;
    public static final int WNOHANG = 1;
    private static final int PRIO_PROCESS = 0;
    private static final int PRIO_PGRP = 1;


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
                int r = Libc.waitpid(pid, status, options);
                return r == 0 ? null : WaitStatus.decode(status[0]);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException("waitpid", "pid " + pid, e.getErrorCode());
                }
            }
        }
    }

    /**
     * setsid(2): the calling process leads a new session (and process group), detached from its
     * parent's; with the scheduler's autogroups on, it also gets a CPU autogroup of its own.
     */
    public static void setsid() {
        try {
            Libc.setsid();
        } catch (LastErrorException e) {
            throw new SyscallException("setsid", "pid " + ProcessHandle.current().pid(), e.getErrorCode());
        }
    }

    /**
     * Sets the nice value of every thread of process {@code pid} (Linux keeps nice per thread:
     * setpriority(PRIO_PROCESS, tid) changes one thread, and a new thread inherits its creator's).
     * Threads that exit meanwhile are skipped. Lowering it below the current value needs CAP_SYS_NICE.
     */
    public static void setNiceOfAllThreads(long pid, int nice) {
        // Twice: a thread started by one not yet changed during the first pass inherits the old value.
        for (int pass = 0; pass < 2; pass++) {
            try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
                for (Path task : tasks.toList()) {
                    setNiceOfThread(Integer.parseInt(task.getFileName().toString()), nice);
                }
            } catch (java.nio.file.NoSuchFileException e) {
                return; // the process is gone
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("list /proc/" + pid + "/task: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Sets the nice value of every thread of every process in the caller's process group, in one
     * setpriority(PRIO_PGRP) (the kernel walks the group's threads): for a process that has just
     * become a session leader (setsid), all of its own threads, without a walk of /proc.
     */
    public static void setNiceOfProcessGroup(int nice) {
        try {
            Libc.setpriority(PRIO_PGRP, 0, nice);
        } catch (LastErrorException e) {
            throw new SyscallException("setpriority", "process group nice " + nice, e.getErrorCode());
        }
    }

    /** Sets the nice value of thread {@code tid} alone; one that has exited is skipped. */
    public static void setNiceOfThread(int tid, int nice) {
        try {
            Libc.setpriority(PRIO_PROCESS, tid, nice);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != Errno.ESRCH) {
                throw new SyscallException("setpriority", "thread " + tid + " nice " + nice, e.getErrorCode());
            }
        }
    }

    /** The nice value of process (or thread) {@code pid}: field 19 of /proc/PID/stat. */
    public static int nice(long pid) throws IOException {
        return (int) stat(pid).number(19);
    }

    /** /proc/PID/stat, its fields numbered as proc(5) numbers them. */
    public record Stat(String[] fromState) {
        /** Field {@code n} (3 and up: 3 is the state, 4 the ppid, ...). */
        public String field(int n) {
            return fromState[n - 3];
        }

        public long number(int n) {
            return Long.parseLong(field(n));
        }
    }

    /**
     * Reads /proc/PID/stat (PID may be a thread id). The command name,
     * field 2, may contain spaces and parentheses: the fields are split after its last ')'.
     */
    public static Stat stat(long pid) throws IOException {
        return stat(Path.of("/proc/" + pid + "/stat"));
    }

    /** A stat file of that format: /proc/PID/stat, or a thread's /proc/PID/task/TID/stat. */
    public static Stat stat(Path statFile) throws IOException {
        String stat = Files.readString(statFile);
        return new Stat(stat.substring(stat.lastIndexOf(')') + 2).split(" "));
    }

    /** pidfd_open(2): a descriptor that stays bound to this process even if the number is reused. */
    public static Fd pidfdOpen(int pid) {
        try {
            return new Fd((int) Libc.syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0, 0), "pidfd " + pid);
        } catch (LastErrorException e) {
            throw new SyscallException("pidfd_open", "pid " + pid, e.getErrorCode());
        }
    }

    /** pivot_root(2) for the calling thread (it must have unshared CLONE_FS and CLONE_NEWNS). */
    public static void pivotRoot(Path newRoot, Path putOld) {
        try {
            Libc.syscall(SYS_PIVOT_ROOT, newRoot.toString(), putOld.toString());
        } catch (LastErrorException e) {
            throw new SyscallException("pivot_root", newRoot + " " + putOld, e.getErrorCode());
        }
    }

    /** The soft and hard limit of {@code resource} for {@code pid} (prlimit(2), no change). */
    public static long[] getrlimit(int pid, int resource) {
        try (Memory old = new Memory(16)) {
            Libc.syscall(SYS_PRLIMIT64, pid, resource, 0, Pointer.nativeValue(old), 0);
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
            Libc.syscall(SYS_PRLIMIT64, pid, resource, Pointer.nativeValue(m), 0, 0);
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
            return stat(pid).number(22);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
