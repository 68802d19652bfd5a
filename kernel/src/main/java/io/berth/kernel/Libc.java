package io.berth.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;

/**
 * Raw glibc entry points. Package-private: everything else goes through the checked wrappers in
 * {@link Syscalls}, which decode arguments and name the errno. Declaring
 * {@link LastErrorException} makes JNA capture errno right after the call, on the same thread.
 *
 * <p>Bound with JNA direct mapping (static native methods, registered once): a call goes straight
 * to JNA's native dispatch, where an interface mapping would go through a generated
 * {@code java.lang.reflect.Proxy}, reflection and per-call argument conversion in Java. The shim
 * makes its calls mostly interpreted, on a container's critical path, and a proxy class is made
 * at every JVM start (with the JDK's class-file API, ~150 classes a shim would otherwise load).
 *
 * <p>syscall(2) is variadic in C; it is declared here with the argument shapes the callers use.
 * glibc's syscall is a plain register shuffle, so unused trailing arguments are harmless zeros.
 *
 * <p>Loaded once, on whatever thread first touches this class; DESIGN.md: load JNA on a normal
 * thread at start-up, before any thread taints itself by joining a PID namespace.
 */
final class Libc {
    static {
        Jna.registerLibc(Libc.class);
    }

    private Libc() {
    }

    static native int open(String path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native long read(int fd, byte[] buf, long count) throws LastErrorException;

    static native long write(int fd, byte[] buf, long count) throws LastErrorException;

    static native int unshare(int flags) throws LastErrorException;

    static native int setns(int fd, int nstype) throws LastErrorException;

    static native int mount(String source, String target, String fstype, long flags, String data) throws LastErrorException;

    static native int umount2(String target, int flags) throws LastErrorException;

    static native int sethostname(String name, long len) throws LastErrorException;

    static native int kill(int pid, int sig) throws LastErrorException;

    static native int pipe2(int[] fds, int flags) throws LastErrorException;

    static native int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws LastErrorException;

    static native int setsid() throws LastErrorException;

    static native int personality(long persona) throws LastErrorException;

    static native int madvise(long addr, long length, int advice) throws LastErrorException;

    static native int setpriority(int which, int who, int prio) throws LastErrorException;

    /** syscall(2) with integer (or pointer-value) arguments. */
    static native long syscall(long number, long a1, long a2, long a3, long a4, long a5) throws LastErrorException;

    /** syscall(2): a path, then an integer (fsopen). */
    static native long syscall(long number, String a1, long a2) throws LastErrorException;

    /** syscall(2): two paths (pivot_root). */
    static native long syscall(long number, String a1, String a2) throws LastErrorException;

    /** syscall(2): two integers, two strings (either may be null), an integer (fsconfig). */
    static native long syscall(long number, long a1, long a2, String a3, String a4, long a5) throws LastErrorException;

    /** syscall(2): fd, path, fd, path, flags (move_mount; open_tree uses the first three and flags). */
    static native long syscall(long number, long a1, String a2, long a3, String a4, long a5) throws LastErrorException;

    static native Pointer strerror(int errnum);

    static native int chdir(String path) throws LastErrorException;

    static native int fchdir(int fd) throws LastErrorException;

    static native int mknod(String path, int mode, long dev) throws LastErrorException;

    static native int chmod(String path, int mode) throws LastErrorException;

    static native int chown(String path, int uid, int gid) throws LastErrorException;

    static native int lchown(String path, int uid, int gid) throws LastErrorException;

    static native int symlink(String target, String linkpath) throws LastErrorException;

    static native int unlink(String path) throws LastErrorException;

    static native int ioctl(int fd, long request, Pointer arg) throws LastErrorException;

    static native int waitpid(int pid, int[] status, int options) throws LastErrorException;

    static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    static native int dup(int fd) throws LastErrorException;

    // posix_spawn(3) and friends: they return an error number instead of setting errno.
    // argv and envp are NULL-terminated arrays of C strings (JNA's StringArray).
    static native int posix_spawn(int[] pid, String path, Pointer fileActions, Pointer attr, Pointer argv, Pointer envp);

    static native int posix_spawn_file_actions_init(Pointer fa);

    static native int posix_spawn_file_actions_destroy(Pointer fa);

    static native int posix_spawn_file_actions_addopen(Pointer fa, int fd, String path, int oflag, int mode);

    static native int posix_spawn_file_actions_adddup2(Pointer fa, int fd, int newfd);

    static native int posix_spawn_file_actions_addclose(Pointer fa, int fd);

    static native int posix_spawn_file_actions_addclosefrom_np(Pointer fa, int from);

    static native int posix_spawnattr_init(Pointer attr);

    static native int posix_spawnattr_destroy(Pointer attr);

    static native int posix_spawnattr_setflags(Pointer attr, short flags);

    static native int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    static native int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

    static native int sigemptyset(Pointer set);

    static native int sigfillset(Pointer set);
}
