package io.berth.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.nio.file.Path;

/**
 * File-system calls that Java's NIO cannot make or that must resolve against the calling thread's
 * own root (after {@code unshare(CLONE_FS)} and {@code pivot_root} a thread has a private root and
 * cwd; these calls follow it). Each failure names the call and the path.
 */
public final class FileOps {
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFMT = 0170000;
    public static final int S_IFREG = 0100000;


    private FileOps() {
    }

    public static void chdir(Path dir) {
        try {
            Libc.chdir(dir.toString());
        } catch (LastErrorException e) {
            throw new SyscallException("chdir", dir.toString(), e.getErrorCode());
        }
    }

    public static void fchdir(Fd dir) {
        try {
            Libc.fchdir(dir.get());
        } catch (LastErrorException e) {
            throw new SyscallException("fchdir", dir.toString(), e.getErrorCode());
        }
    }

    /** makedev(3) for the glibc encoding of dev_t. */
    public static long makedev(int major, int minor) {
        return ((long) (major & 0xfffff000) << 32) | ((major & 0xfffL) << 8)
                | ((long) (minor & 0xffffff00) << 12) | (minor & 0xffL);
    }

    /** major(3) of a glibc dev_t (12 bits at 8..19, the rest from bit 32 up). */
    public static long major(long dev) {
        return ((dev >>> 8) & 0xfffL) | ((dev >>> 32) & 0xfffff000L);
    }

    /** minor(3) of a glibc dev_t (8 bits at 0..7, the rest from bit 20 up). */
    public static long minor(long dev) {
        return (dev & 0xffL) | ((dev >>> 12) & 0xffffff00L);
    }

    /** mknod(2); the mode is then forced with chmod because the thread's umask would mask it. */
    public static void mknod(Path path, int mode, long dev) {
        try {
            Libc.mknod(path.toString(), mode, dev);
        } catch (LastErrorException e) {
            throw new SyscallException("mknod", path + " (mode 0" + Integer.toOctalString(mode) + ")", e.getErrorCode());
        }
        chmod(path, mode & 07777);
    }

    public static void chmod(Path path, int mode) {
        try {
            Libc.chmod(path.toString(), mode);
        } catch (LastErrorException e) {
            throw new SyscallException("chmod", path + " 0" + Integer.toOctalString(mode), e.getErrorCode());
        }
    }

    public static void chown(Path path, int uid, int gid) {
        try {
            Libc.chown(path.toString(), uid, gid);
        } catch (LastErrorException e) {
            throw new SyscallException("chown", path + " " + uid + ":" + gid, e.getErrorCode());
        }
    }

    public static void symlink(String target, Path link) {
        try {
            Libc.symlink(target, link.toString());
        } catch (LastErrorException e) {
            throw new SyscallException("symlink", link + " -> " + target, e.getErrorCode());
        }
    }

    /** unlink(2); returns false when the path did not exist. */
    public static boolean unlink(Path path) {
        try {
            Libc.unlink(path.toString());
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.ENOENT) {
                return false;
            }
            throw new SyscallException("unlink", path.toString(), e.getErrorCode());
        }
    }

    /** ioctl(2) without an argument (NS_GET_NSTYPE): its return value. */
    public static int ioctl(Fd fd, long request, String what) {
        try {
            return Libc.ioctl(fd.get(), request, null);
        } catch (LastErrorException e) {
            throw new SyscallException("ioctl", what + " on " + fd, e.getErrorCode());
        }
    }

    /** ioctl(2) with an int argument passed by reference (TIOCGPTN, TIOCSPTLCK). Returns the int after the call. */
    public static int ioctlInt(Fd fd, long request, int value, String what) {
        try (Memory m = new Memory(8)) {
            m.setInt(0, value);
            try {
                Libc.ioctl(fd.get(), request, m);
            } catch (LastErrorException e) {
                throw new SyscallException("ioctl", what + " on " + fd, e.getErrorCode());
            }
            return m.getInt(0);
        }
    }

    /**
     * Sets a terminal's size: ioctl(2) TIOCSWINSZ with a struct winsize {ws_row, ws_col, ws_xpixel,
     * ws_ypixel} (ioctl_tty(2)); on a pty master the foreground process group gets SIGWINCH.
     */
    public static void setWindowSize(Fd tty, int rows, int cols) {
        try (Memory m = new Memory(8)) {
            m.clear();
            m.setShort(0, (short) rows);
            m.setShort(2, (short) cols);
            try {
                Libc.ioctl(tty.get(), 0x5414L, m);
            } catch (LastErrorException e) {
                throw new SyscallException("ioctl", "TIOCSWINSZ " + rows + "x" + cols + " on " + tty, e.getErrorCode());
            }
        }
    }

    /** pipe2(2) with O_CLOEXEC: [read end, write end]. */
    public static Fd[] pipe(String what) {
        return pipe(what, 0);
    }

    /** pipe2(2) with O_CLOEXEC and {@code flags} (e.g. {@link Syscalls#O_NONBLOCK}): [read end, write end]. */
    public static Fd[] pipe(String what, int flags) {
        int[] fds = new int[2];
        try {
            Libc.pipe2(fds, Syscalls.O_CLOEXEC | flags);
        } catch (LastErrorException e) {
            throw new SyscallException("pipe2", what, e.getErrorCode());
        }
        return new Fd[] {new Fd(fds[0], what + " (read end)"), new Fd(fds[1], what + " (write end)")};
    }

    /** read(2), retrying EINTR; returns 0 at end of file. */
    public static int read(Fd fd, byte[] buf) {
        while (true) {
            try {
                return (int) Libc.read(fd.get(), buf, buf.length);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException("read", fd.toString(), e.getErrorCode());
                }
            }
        }
    }

    /** Writes all of {@code buf[0..len)}, retrying EINTR and short writes. */
    public static void writeAll(Fd fd, byte[] buf, int len) {
        int off = 0;
        while (off < len) {
            byte[] chunk = off == 0 ? buf : java.util.Arrays.copyOfRange(buf, off, len);
            try {
                off += (int) Libc.write(fd.get(), chunk, len - off);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException("write", fd.toString(), e.getErrorCode());
                }
            }
        }
    }
}
