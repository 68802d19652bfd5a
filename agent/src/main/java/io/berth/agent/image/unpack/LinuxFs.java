package io.berth.agent.image.unpack;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * The few file-system calls that layer unpacking needs and the JDK does not offer: mknod (devices,
 * overlay whiteouts), lsetxattr in any namespace (the JDK only writes {@code user.}), chmod with the
 * setuid/setgid/sticky bits, lchown, utimensat without following symlinks, and syncfs. Bound with the
 * JDK's foreign-function API, so the unpacker needs no native library of its own. Every wrapper
 * checks the result and throws an {@link IOException} naming the call, its path and the errno name.
 */
public final class LinuxFs {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(
            java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int O_RDONLY = 0;
    private static final int O_DIRECTORY = 0200000;
    private static final int O_CLOEXEC = 02000000;

    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFIFO = 0010000;

    private static final MethodHandle MKNODAT = bind("mknodat", ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG);
    private static final MethodHandle LSETXATTR = bind("lsetxattr", ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
    private static final MethodHandle LGETXATTR = bind("lgetxattr", ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
    private static final MethodHandle CHMOD = bind("chmod", ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle LCHOWN = bind("lchown", ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle UTIMENSAT = bind("utimensat", ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle OPEN = bind("open", ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle SYNCFS = bind("syncfs", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle CLOSE = bind("close", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle STRERRORNAME = LINKER.downcallHandle(
            LINKER.defaultLookup().find("strerrorname_np").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private LinuxFs() {
    }

    private static MethodHandle bind(String name, ValueLayout result, ValueLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(),
                FunctionDescriptor.of(result, args), Linker.Option.captureCallState("errno"));
    }

    /** mknod(2): a character or block device, or a FIFO; (0, 0) char devices are overlay whiteouts. */
    public static void mknod(Path path, int typeAndMode, int major, int minor) throws IOException {
        long dev = makedev(major, minor);
        call("mknod", path, "mode=0" + Integer.toOctalString(typeAndMode) + " dev=" + major + ":" + minor,
                (a, st) -> (int) MKNODAT.invokeExact(st, AT_FDCWD, cstr(a, path), typeAndMode, dev));
    }

    /** lsetxattr(2): any namespace ({@code trusted.}, {@code security.}, {@code user.}); never follows a symlink. */
    public static void lsetxattr(Path path, String name, byte[] value) throws IOException {
        call("lsetxattr", path, name, (a, st) -> {
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
            return (int) LSETXATTR.invokeExact(st, cstr(a, path), a.allocateFrom(name), v, (long) value.length, 0);
        });
    }

    /** lgetxattr(2), or null when the attribute is absent. */
    public static byte[] lgetxattr(Path path, String name) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment buf = a.allocate(65536);
            long n = (long) LGETXATTR.invokeExact(st, cstr(a, path), a.allocateFrom(name), buf, 65536L);
            if (n < 0) {
                int errno = (int) ERRNO.get(st, 0L);
                if (errno == 61) { // ENODATA
                    return null;
                }
                throw new IOException("lgetxattr " + path + " " + name + ": " + errnoName(errno));
            }
            return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("lgetxattr " + path + ": " + t, t);
        }
    }

    /** chmod(2) with all twelve permission bits (the JDK drops setuid, setgid and sticky). */
    public static void chmod(Path path, int mode) throws IOException {
        call("chmod", path, "0" + Integer.toOctalString(mode),
                (a, st) -> (int) CHMOD.invokeExact(st, cstr(a, path), mode & 07777));
    }

    /** lchown(2): the link itself, never its target. */
    public static void lchown(Path path, int uid, int gid) throws IOException {
        call("lchown", path, uid + ":" + gid, (a, st) -> (int) LCHOWN.invokeExact(st, cstr(a, path), uid, gid));
    }

    /** utimensat(2) with AT_SYMLINK_NOFOLLOW: sets atime and mtime of the entry itself. */
    public static void lutimes(Path path, long seconds, int nanos) throws IOException {
        call("utimensat", path, "mtime=" + seconds, (a, st) -> {
            MemorySegment times = a.allocate(ValueLayout.JAVA_LONG, 4);
            for (int i = 0; i < 2; i++) {
                times.setAtIndex(ValueLayout.JAVA_LONG, i * 2L, seconds);
                times.setAtIndex(ValueLayout.JAVA_LONG, i * 2L + 1, nanos);
            }
            return (int) UTIMENSAT.invokeExact(st, AT_FDCWD, cstr(a, path), times, AT_SYMLINK_NOFOLLOW);
        });
    }

    /**
     * syncfs(2) on the file system holding {@code dir}: one call makes every file just unpacked
     * durable, far cheaper than an fsync per file (containerd's overlay snapshotter relies on the
     * same, syncfs on commit).
     */
    public static void syncfs(Path dir) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) OPEN.invokeExact(st, cstr(a, dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) {
                throw new IOException("open " + dir + ": " + errnoName((int) ERRNO.get(st, 0L)));
            }
            try {
                if ((int) SYNCFS.invokeExact(st, fd) < 0) {
                    throw new IOException("syncfs " + dir + ": " + errnoName((int) ERRNO.get(st, 0L)));
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(st, fd);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("syncfs " + dir + ": " + t, t);
        }
    }

    /** glibc's makedev: the dev_t encoding of sys/sysmacros.h. */
    static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    public static String errnoName(int errno) {
        try {
            MemorySegment name = (MemorySegment) STRERRORNAME.invokeExact(errno);
            return name.equals(MemorySegment.NULL) ? "errno " + errno
                    : name.reinterpret(64).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    @FunctionalInterface
    private interface Call {
        int invoke(Arena arena, MemorySegment captured) throws Throwable;
    }

    private static void call(String name, Path path, String args, Call call) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int rc;
            while (true) {
                rc = call.invoke(a, st);
                if (rc >= 0 || (int) ERRNO.get(st, 0L) != 4) { // retry EINTR
                    break;
                }
            }
            if (rc < 0) {
                throw new IOException(name + " " + path + " " + args + ": " + errnoName((int) ERRNO.get(st, 0L)));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(name + " " + path + ": " + t, t);
        }
    }

    private static MemorySegment cstr(Arena a, Path path) {
        return a.allocateFrom(path.toString());
    }
}
