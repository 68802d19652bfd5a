package io.berth.kernel;

import com.sun.jna.LastErrorException;
import java.nio.file.Path;

/**
 * The file-system calls that unpacking an image layer needs and the JDK does not offer: mknod
 * (devices, FIFOs, overlay whiteouts), extended attributes in every namespace (the JDK writes only
 * {@code user.}), chmod with the setuid/setgid/sticky bits, lchown, utimensat without following
 * symlinks, and syncfs. Checked wrappers, as in {@link Syscalls}: EINTR is retried and a failure is
 * a {@link SyscallException} naming the call, the path, its decoded arguments and the errno.
 *
 * <p>Bound with JNA direct mapping (a static native method per call, no proxy): a layer of a few
 * thousand files makes a few calls per file, so the per-call cost matters here more than elsewhere.
 * Paths are resolved by the kernel relative to the calling thread's root, like every call here.
 */
public final class FileSystemCalls {
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;

    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    /** XATTR_SIZE_MAX (linux/limits.h): no value is larger. */
    private static final int XATTR_SIZE_MAX = 65536;

    private FileSystemCalls() {
    }

    /** Direct mappings of the glibc wrappers (man 2 mknodat, lsetxattr, lgetxattr, chmod, lchown, utimensat, syncfs). */
    private static final class C {
        static {
            Jna.registerLibc(C.class);
        }

        static native int mknodat(int dirfd, String path, int mode, long dev) throws LastErrorException;

        static native int lsetxattr(String path, String name, byte[] value, long size, int flags)
                throws LastErrorException;

        static native long lgetxattr(String path, String name, byte[] value, long size) throws LastErrorException;

        static native int chmod(String path, int mode) throws LastErrorException;

        static native int lchown(String path, int uid, int gid) throws LastErrorException;

        static native int utimensat(int dirfd, String path, long[] times, int flags) throws LastErrorException;

        static native int syncfs(int fd) throws LastErrorException;
    }

    @FunctionalInterface
    private interface Call {
        long invoke() throws LastErrorException;
    }

    private static long retrying(String call, String detail, Call c) {
        while (true) {
            try {
                return c.invoke();
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException(call, detail, e.getErrorCode());
                }
            }
        }
    }

    /** mknod(2): a character or block device, or a FIFO; a 0/0 character device is an overlay whiteout. */
    public static void mknod(Path path, int typeAndMode, int major, int minor) {
        long dev = FileOps.makedev(major, minor);
        retrying("mknod", path + " (mode 0" + Integer.toOctalString(typeAndMode) + ", dev " + major + ":" + minor
                + ")", () -> C.mknodat(AT_FDCWD, path.toString(), typeAndMode, dev));
    }

    /** lsetxattr(2): any namespace ({@code trusted.}, {@code security.}, {@code user.}); never follows a symlink. */
    public static void lsetxattr(Path path, String name, byte[] value) {
        retrying("lsetxattr", path + " " + name, () -> C.lsetxattr(path.toString(), name, value, value.length, 0));
    }

    /** lgetxattr(2): the attribute's value, or null when the entry has no such attribute (ENODATA). */
    public static byte[] lgetxattr(Path path, String name) {
        byte[] buf = new byte[XATTR_SIZE_MAX];
        long n;
        try {
            n = retrying("lgetxattr", path + " " + name, () -> C.lgetxattr(path.toString(), name, buf, buf.length));
        } catch (SyscallException e) {
            if (e.errno() == Errno.ENODATA) {
                return null;
            }
            throw e;
        }
        return java.util.Arrays.copyOf(buf, (int) n);
    }

    /** chmod(2) with all twelve permission bits (the JDK's setPosixFilePermissions drops setuid, setgid, sticky). */
    public static void chmod(Path path, int mode) {
        retrying("chmod", path + " (0" + Integer.toOctalString(mode & 07777) + ")",
                () -> C.chmod(path.toString(), mode & 07777));
    }

    /** lchown(2): the entry itself, never a symlink's target. */
    public static void lchown(Path path, int uid, int gid) {
        retrying("lchown", path + " (" + uid + ":" + gid + ")", () -> C.lchown(path.toString(), uid, gid));
    }

    /** utimensat(2) with AT_SYMLINK_NOFOLLOW: atime and mtime of the entry itself. */
    public static void lutimes(Path path, long seconds, int nanos) {
        long[] times = {seconds, nanos, seconds, nanos}; // struct timespec[2]: atime, mtime
        retrying("utimensat", path + " (mtime " + seconds + "." + String.format("%09d", nanos) + ", AT_SYMLINK_NOFOLLOW)",
                () -> C.utimensat(AT_FDCWD, path.toString(), times, AT_SYMLINK_NOFOLLOW));
    }

    /**
     * syncfs(2) on the file system holding {@code dir}: one call makes every file just written there
     * durable, far cheaper than an fsync per file (containerd's and CRI-O's layer stores rely on the
     * same after unpacking a layer).
     */
    public static void syncfs(Path dir) {
        try (Fd fd = Syscalls.open(dir, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY)) {
            retrying("syncfs", dir.toString(), () -> C.syncfs(fd.get()));
        }
    }
}
