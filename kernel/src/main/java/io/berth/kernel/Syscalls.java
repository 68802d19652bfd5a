package io.berth.kernel;

import com.sun.jna.LastErrorException;
import java.nio.file.Path;

/**
 * Checked wrappers over {@link Libc}: each retries EINTR where the call may be interrupted and
 * throws a {@link SyscallException} naming the call, its decoded arguments and the errno.
 * Thread-sensitive calls (unshare, setns, sethostname) act on the calling thread only; run them on
 * a dedicated platform thread (see {@link DedicatedThread}).
 */
public final class Syscalls {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOCTTY = 0400;
    public static final int O_TRUNC = 01000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_PATH = 010000000;


    private Syscalls() {
    }

    public static String strerror(int errno) {
        try {
            return Libc.strerror(errno).getString(0);
        } catch (RuntimeException | Error e) {
            return "errno " + errno;
        }
    }

    public static Fd open(Path path, int flags, int mode) {
        while (true) {
            try {
                return new Fd(Libc.open(path.toString(), flags | O_CLOEXEC, mode), path.toString());
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException("open", path + " (flags 0" + Integer.toOctalString(flags) + ")",
                            e.getErrorCode());
                }
            }
        }
    }

    public static Fd open(Path path, int flags) {
        return open(path, flags, 0);
    }

    static void close(int fd) {
        try {
            Libc.close(fd);
        } catch (LastErrorException e) {
            // close(2): after EINTR the fd is released anyway on Linux; never retry.
            if (e.getErrorCode() != Errno.EINTR) {
                throw new SyscallException("close", "fd " + fd, e.getErrorCode());
            }
        }
    }

    /** unshare(2) on the calling thread. */
    public static void unshare(int flags) {
        try {
            Libc.unshare(flags);
        } catch (LastErrorException e) {
            throw new SyscallException("unshare", Namespace.describe(flags), e.getErrorCode());
        }
    }

    /** setns(2): moves the calling thread into the namespace that {@code nsFd} refers to. */
    public static void setns(Fd nsFd, Namespace type) {
        try {
            Libc.setns(nsFd.get(), type.cloneFlag);
        } catch (LastErrorException e) {
            throw new SyscallException("setns", nsFd + " " + Namespace.describe(type.cloneFlag), e.getErrorCode());
        }
    }

    /** Moves the calling thread into the namespace pinned at (or linked from) {@code path}. */
    public static void setns(Path path, Namespace type) {
        try (Fd fd = open(path, O_RDONLY)) {
            setns(fd, type);
        }
    }

    public static void mount(String source, Path target, String fstype, long flags, String data) {
        try {
            Libc.mount(source, target.toString(), fstype, flags, data);
        } catch (LastErrorException e) {
            throw new SyscallException("mount", (fstype == null ? source : fstype + " " + source) + " on " + target
                    + " (" + MountFlags.describe(flags) + (data == null || data.isEmpty() ? "" : ", " + data) + ")",
                    e.getErrorCode());
        }
    }

    /** umount2(2); flags e.g. {@link MountFlags#MNT_DETACH}. */
    public static void umount2(Path target, int flags) {
        try {
            Libc.umount2(target.toString(), flags);
        } catch (LastErrorException e) {
            throw new SyscallException("umount2", target + (flags == 0 ? "" : " (" + MountFlags.describeUmount(flags) + ")"),
                    e.getErrorCode());
        }
    }

    /** sethostname(2) in the calling thread's UTS namespace. */
    public static void sethostname(String name) {
        try {
            Libc.sethostname(name, name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        } catch (LastErrorException e) {
            throw new SyscallException("sethostname", name, e.getErrorCode());
        }
    }

    /** kill(2); returns false when the process no longer exists (ESRCH). */
    public static boolean kill(int pid, int signal) {
        try {
            Libc.kill(pid, signal);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.ESRCH) {
                return false;
            }
            throw new SyscallException("kill", "pid " + pid + " signal " + signal, e.getErrorCode());
        }
    }

    /**
     * This process's id (getpid(2), syscall 39 on x86_64). For a shim: {@code ProcessHandle.current()}
     * answers the same, but its first use initialises the JDK's process machinery (a reaper thread
     * factory and pool), ~3 ms of interpreted start-up that a shim needs for nothing else.
     */
    public static int getpid() {
        return (int) Libc.syscall(39, 0, 0, 0, 0, 0);
    }

    /** The calling thread's kernel thread id (gettid(2), syscall 186 on x86_64). */
    public static int gettid() {
        return (int) Libc.syscall(186, 0, 0, 0, 0, 0);
    }
}
