package io.berth.kernel;

import com.sun.jna.LastErrorException;
import java.nio.file.Path;

/**
 * The new mount API (fsopen(2), fsconfig(2), fsmount(2), open_tree(2), move_mount(2); Linux 5.2+).
 * berth uses it for the one mount that cannot be made the classic way from a JVM: procfs for a new
 * PID namespace, via procfs's {@code pidns} parameter (Linux 6.18+, see the spike notes §2), or,
 * on older kernels, as a detached copy of a procfs mount a helper process made.
 */
public final class NewMountApi {
    private static final long SYS_OPEN_TREE = 428;
    private static final long SYS_MOVE_MOUNT = 429;
    private static final long SYS_FSOPEN = 430;
    private static final long SYS_FSCONFIG = 431;
    private static final long SYS_FSMOUNT = 432;

    private static final long FSOPEN_CLOEXEC = 1;
    private static final long FSCONFIG_SET_STRING = 1;
    private static final long FSCONFIG_SET_FD = 5;
    private static final long FSCONFIG_CMD_CREATE = 6;
    private static final long FSMOUNT_CLOEXEC = 1;
    public static final long MOUNT_ATTR_RDONLY = 0x1;
    public static final long MOUNT_ATTR_NOSUID = 0x2;
    public static final long MOUNT_ATTR_NODEV = 0x4;
    public static final long MOUNT_ATTR_NOEXEC = 0x8;
    private static final long MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    private static final long OPEN_TREE_CLONE = 1;
    private static final long OPEN_TREE_CLOEXEC = Syscalls.O_CLOEXEC;
    private static final long AT_FDCWD = -100;


    private NewMountApi() {
    }

    public static Fd fsopen(String fstype) {
        try {
            return new Fd((int) Libc.syscall(SYS_FSOPEN, fstype, FSOPEN_CLOEXEC), "fsopen " + fstype);
        } catch (LastErrorException e) {
            throw new SyscallException("fsopen", fstype, e.getErrorCode());
        }
    }

    public static void setString(Fd fs, String key, String value) {
        try {
            Libc.syscall(SYS_FSCONFIG, fs.get(), FSCONFIG_SET_STRING, key, value, 0);
        } catch (LastErrorException e) {
            throw new SyscallException("fsconfig", fs + " " + key + "=" + value, e.getErrorCode());
        }
    }

    public static void setFd(Fd fs, String key, Fd value) {
        try {
            Libc.syscall(SYS_FSCONFIG, fs.get(), FSCONFIG_SET_FD, key, null, value.get());
        } catch (LastErrorException e) {
            throw new SyscallException("fsconfig", fs + " " + key + "=" + value, e.getErrorCode());
        }
    }

    public static void create(Fd fs) {
        try {
            Libc.syscall(SYS_FSCONFIG, fs.get(), FSCONFIG_CMD_CREATE, null, null, 0);
        } catch (LastErrorException e) {
            throw new SyscallException("fsconfig", fs + " FSCONFIG_CMD_CREATE", e.getErrorCode());
        }
    }

    /** fsmount(2): a detached mount of the configured superblock with MOUNT_ATTR_* flags. */
    public static Fd fsmount(Fd fs, long attrs) {
        try {
            return new Fd((int) Libc.syscall(SYS_FSMOUNT, fs.get(), FSMOUNT_CLOEXEC, attrs, 0, 0), "fsmount of " + fs);
        } catch (LastErrorException e) {
            throw new SyscallException("fsmount", fs.toString(), e.getErrorCode());
        }
    }

    /**
     * open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount at {@code path} (resolved against
     * the calling thread's root and cwd, in its mount namespace; without its submounts), with the same
     * superblock and mount flags. It outlives the original's unmounting, and {@link #moveMount} can
     * attach it in another mount namespace.
     */
    public static Fd openTreeClone(Path path) {
        try {
            return new Fd((int) Libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.toString(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, null, 0),
                    "open_tree clone of " + path);
        } catch (LastErrorException e) {
            throw new SyscallException("open_tree", path + " (OPEN_TREE_CLONE)", e.getErrorCode());
        }
    }

    /** move_mount(2) of a detached mount onto {@code target}, resolved against the calling thread's root and cwd. */
    public static void moveMount(Fd mount, Path target) {
        try {
            Libc.syscall(SYS_MOVE_MOUNT, mount.get(), "", AT_FDCWD, target.toString(), MOVE_MOUNT_F_EMPTY_PATH);
        } catch (LastErrorException e) {
            throw new SyscallException("move_mount", mount + " to " + target, e.getErrorCode());
        }
    }
}
