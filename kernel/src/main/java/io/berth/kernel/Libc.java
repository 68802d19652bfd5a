package io.berth.kernel;

import com.sun.jna.Function;
import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Raw glibc entry points. Package-private: everything else goes through the checked wrappers in
 * {@link Syscalls}, which decode arguments and name the errno. A function that sets errno is
 * called with JNA's {@code THROW_LAST_ERROR}: errno is captured right after the call, on the same
 * thread, and a set one becomes a {@link LastErrorException}.
 *
 * <p>Each function is a JNA {@link Function} looked up once, called with its arguments in an
 * array; strings go as NUL-terminated UTF-8 arrays, which JNA hands over without allocating native
 * memory. Not JNA's direct mapping ({@code Native.register} of static native methods): registering
 * the first class initialises JNA's {@code Structure.FFIType} table, a dozen {@code Structure}s
 * made through reflection, with an annotation proxy class generated and method-handle accessors
 * spun, all of it interpreted at JVM start. Measured with the shim's flags and AOT cache: 36-43 ms
 * of every shim JVM's start-up, against 0.3 ms for the lookups here. A call costs a few
 * microseconds more than a direct one while interpreted (14 against 8 µs for access(2) with a
 * path); a shim makes some hundred of them to create a container. The agent's hot per-file
 * calls ({@link FileSystemCalls}, netlink) keep direct mapping: the agent pays the table once.
 *
 * <p>syscall(2) is variadic in C; it is called here with the argument shapes the callers use.
 * glibc's syscall is a plain register shuffle, so unused trailing arguments are harmless zeros.
 *
 * <p>Loaded once, on whatever thread first touches this class; DESIGN.md: load JNA on a normal
 * thread at start-up, before any thread taints itself by joining a PID namespace.
 */
final class Libc {
    private static final NativeLibrary C = Jna.library("c");

    private static final Function OPEN = errno("open");
    private static final Function CLOSE = errno("close");
    private static final Function READ = errno("read");
    private static final Function WRITE = errno("write");
    private static final Function UNSHARE = errno("unshare");
    private static final Function SETNS = errno("setns");
    private static final Function MOUNT = errno("mount");
    private static final Function UMOUNT2 = errno("umount2");
    private static final Function SETHOSTNAME = errno("sethostname");
    private static final Function KILL = errno("kill");
    private static final Function PIPE2 = errno("pipe2");
    private static final Function PRCTL = errno("prctl");
    private static final Function SETSID = errno("setsid");
    private static final Function PERSONALITY = errno("personality");
    private static final Function MADVISE = errno("madvise");
    private static final Function SETPRIORITY = errno("setpriority");
    private static final Function SYSCALL = errno("syscall");
    private static final Function STRERROR = plain("strerror");
    private static final Function CHDIR = errno("chdir");
    private static final Function FCHDIR = errno("fchdir");
    private static final Function MKNOD = errno("mknod");
    private static final Function CHMOD = errno("chmod");
    private static final Function CHOWN = errno("chown");
    private static final Function LCHOWN = errno("lchown");
    private static final Function SYMLINK = errno("symlink");
    private static final Function UNLINK = errno("unlink");
    private static final Function IOCTL = errno("ioctl");
    private static final Function WAITPID = errno("waitpid");
    private static final Function POLL = errno("poll");
    private static final Function DUP = errno("dup");
    private static final Function SOCKET = errno("socket");
    private static final Function BIND = errno("bind");
    private static final Function LISTEN = errno("listen");
    private static final Function ACCEPT4 = errno("accept4");
    private static final Function CONNECT = errno("connect");
    private static final Function SHUTDOWN = errno("shutdown");
    private static final Function SEND = errno("send");
    private static final Function SETSOCKOPT = errno("setsockopt");
    private static final Function POSIX_SPAWN = plain("posix_spawn");
    private static final Function POSIX_SPAWN_FILE_ACTIONS_INIT = plain("posix_spawn_file_actions_init");
    private static final Function POSIX_SPAWN_FILE_ACTIONS_DESTROY = plain("posix_spawn_file_actions_destroy");
    private static final Function POSIX_SPAWN_FILE_ACTIONS_ADDOPEN = plain("posix_spawn_file_actions_addopen");
    private static final Function POSIX_SPAWN_FILE_ACTIONS_ADDDUP2 = plain("posix_spawn_file_actions_adddup2");
    private static final Function POSIX_SPAWN_FILE_ACTIONS_ADDCLOSE = plain("posix_spawn_file_actions_addclose");
    private static final Function POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP = plain("posix_spawn_file_actions_addclosefrom_np");
    private static final Function POSIX_SPAWNATTR_INIT = plain("posix_spawnattr_init");
    private static final Function POSIX_SPAWNATTR_DESTROY = plain("posix_spawnattr_destroy");
    private static final Function POSIX_SPAWNATTR_SETFLAGS = plain("posix_spawnattr_setflags");
    private static final Function POSIX_SPAWNATTR_SETSIGMASK = plain("posix_spawnattr_setsigmask");
    private static final Function POSIX_SPAWNATTR_SETSIGDEFAULT = plain("posix_spawnattr_setsigdefault");
    private static final Function SIGEMPTYSET = plain("sigemptyset");
    private static final Function SIGFILLSET = plain("sigfillset");

    private Libc() {
    }

    /** A libc function whose failure sets errno: JNA clears errno, calls, and throws {@link LastErrorException} if it is set. */
    private static Function errno(String name) {
        return C.getFunction(name, Function.THROW_LAST_ERROR);
    }

    /** A libc function that reports errors in its return value (posix_spawn and friends) or not at all. */
    private static Function plain(String name) {
        return C.getFunction(name);
    }

    /** {@code s} as a NUL-terminated UTF-8 array (null stays null: a NULL pointer). */
    private static byte[] cstr(String s) {
        if (s == null) return null;
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    static int open(String path, int flags, int mode) throws LastErrorException {
        return OPEN.invokeInt(new Object[] {cstr(path), flags, mode});
    }

    static int close(int fd) throws LastErrorException {
        return CLOSE.invokeInt(new Object[] {fd});
    }

    static long read(int fd, byte[] buf, long count) throws LastErrorException {
        return READ.invokeLong(new Object[] {fd, buf, count});
    }

    static long write(int fd, byte[] buf, long count) throws LastErrorException {
        return WRITE.invokeLong(new Object[] {fd, buf, count});
    }

    static int unshare(int flags) throws LastErrorException {
        return UNSHARE.invokeInt(new Object[] {flags});
    }

    static int setns(int fd, int nstype) throws LastErrorException {
        return SETNS.invokeInt(new Object[] {fd, nstype});
    }

    static int mount(String source, String target, String fstype, long flags, String data) throws LastErrorException {
        return MOUNT.invokeInt(new Object[] {cstr(source), cstr(target), cstr(fstype), flags, cstr(data)});
    }

    static int umount2(String target, int flags) throws LastErrorException {
        return UMOUNT2.invokeInt(new Object[] {cstr(target), flags});
    }

    static int sethostname(String name, long len) throws LastErrorException {
        return SETHOSTNAME.invokeInt(new Object[] {cstr(name), len});
    }

    static int kill(int pid, int sig) throws LastErrorException {
        return KILL.invokeInt(new Object[] {pid, sig});
    }

    static int pipe2(int[] fds, int flags) throws LastErrorException {
        return PIPE2.invokeInt(new Object[] {fds, flags});
    }

    static int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws LastErrorException {
        return PRCTL.invokeInt(new Object[] {option, arg2, arg3, arg4, arg5});
    }

    static int setsid() throws LastErrorException {
        return SETSID.invokeInt(new Object[] {});
    }

    static int personality(long persona) throws LastErrorException {
        return PERSONALITY.invokeInt(new Object[] {persona});
    }

    static int madvise(long addr, long length, int advice) throws LastErrorException {
        return MADVISE.invokeInt(new Object[] {addr, length, advice});
    }

    static int setpriority(int which, int who, int prio) throws LastErrorException {
        return SETPRIORITY.invokeInt(new Object[] {which, who, prio});
    }

    /** syscall(2) with integer (or pointer-value) arguments. */
    static long syscall(long number, long a1, long a2, long a3, long a4, long a5) throws LastErrorException {
        return SYSCALL.invokeLong(new Object[] {number, a1, a2, a3, a4, a5});
    }

    /** syscall(2): a path, then an integer (fsopen). */
    static long syscall(long number, String a1, long a2) throws LastErrorException {
        return SYSCALL.invokeLong(new Object[] {number, cstr(a1), a2});
    }

    /** syscall(2): two paths (pivot_root). */
    static long syscall(long number, String a1, String a2) throws LastErrorException {
        return SYSCALL.invokeLong(new Object[] {number, cstr(a1), cstr(a2)});
    }

    /** syscall(2): two integers, two strings (either may be null), an integer (fsconfig). */
    static long syscall(long number, long a1, long a2, String a3, String a4, long a5) throws LastErrorException {
        return SYSCALL.invokeLong(new Object[] {number, a1, a2, cstr(a3), cstr(a4), a5});
    }

    /** syscall(2): fd, path, fd, path, flags (move_mount; open_tree uses the first three and flags). */
    static long syscall(long number, long a1, String a2, long a3, String a4, long a5) throws LastErrorException {
        return SYSCALL.invokeLong(new Object[] {number, a1, cstr(a2), a3, cstr(a4), a5});
    }

    static Pointer strerror(int errnum) {
        return STRERROR.invokePointer(new Object[] {errnum});
    }

    static int chdir(String path) throws LastErrorException {
        return CHDIR.invokeInt(new Object[] {cstr(path)});
    }

    static int fchdir(int fd) throws LastErrorException {
        return FCHDIR.invokeInt(new Object[] {fd});
    }

    static int mknod(String path, int mode, long dev) throws LastErrorException {
        return MKNOD.invokeInt(new Object[] {cstr(path), mode, dev});
    }

    static int chmod(String path, int mode) throws LastErrorException {
        return CHMOD.invokeInt(new Object[] {cstr(path), mode});
    }

    static int chown(String path, int uid, int gid) throws LastErrorException {
        return CHOWN.invokeInt(new Object[] {cstr(path), uid, gid});
    }

    static int lchown(String path, int uid, int gid) throws LastErrorException {
        return LCHOWN.invokeInt(new Object[] {cstr(path), uid, gid});
    }

    static int symlink(String target, String linkpath) throws LastErrorException {
        return SYMLINK.invokeInt(new Object[] {cstr(target), cstr(linkpath)});
    }

    static int unlink(String path) throws LastErrorException {
        return UNLINK.invokeInt(new Object[] {cstr(path)});
    }

    static int ioctl(int fd, long request, Pointer arg) throws LastErrorException {
        return IOCTL.invokeInt(new Object[] {fd, request, arg});
    }

    static int waitpid(int pid, int[] status, int options) throws LastErrorException {
        return WAITPID.invokeInt(new Object[] {pid, status, options});
    }

    /** poll(2); {@code fds} holds struct pollfd as ints: fd, then events | revents << 16 (little-endian shorts). */
    static int poll(int[] fds, long nfds, int timeout) throws LastErrorException {
        return POLL.invokeInt(new Object[] {fds, nfds, timeout});
    }

    static int socket(int domain, int type, int protocol) throws LastErrorException {
        return SOCKET.invokeInt(new Object[] {domain, type, protocol});
    }

    /** bind(2) with the address as its bytes (a struct sockaddr_un, say). */
    static int bind(int fd, byte[] addr, int len) throws LastErrorException {
        return BIND.invokeInt(new Object[] {fd, addr, len});
    }

    static int listen(int fd, int backlog) throws LastErrorException {
        return LISTEN.invokeInt(new Object[] {fd, backlog});
    }

    /** accept4(2) without the peer's address. */
    static int accept4(int fd, int flags) throws LastErrorException {
        return ACCEPT4.invokeInt(new Object[] {fd, null, null, flags});
    }

    static int connect(int fd, byte[] addr, int len) throws LastErrorException {
        return CONNECT.invokeInt(new Object[] {fd, addr, len});
    }

    static long send(int fd, byte[] buf, long len, int flags) throws LastErrorException {
        return SEND.invokeLong(new Object[] {fd, buf, len, flags});
    }

    static int shutdown(int fd, int how) throws LastErrorException {
        return SHUTDOWN.invokeInt(new Object[] {fd, how});
    }

    /** setsockopt(2) with the option value as longs (a struct timeval: seconds, microseconds). */
    static int setsockopt(int fd, int level, int name, long[] value, int len) throws LastErrorException {
        return SETSOCKOPT.invokeInt(new Object[] {fd, level, name, value, len});
    }

    static int dup(int fd) throws LastErrorException {
        return DUP.invokeInt(new Object[] {fd});
    }

    // posix_spawn(3) and friends: they return an error number instead of setting errno.
    // argv and envp are NULL-terminated arrays of C strings (JNA's StringArray).
    static int posix_spawn(int[] pid, String path, Pointer fileActions, Pointer attr, Pointer argv, Pointer envp) {
        return POSIX_SPAWN.invokeInt(new Object[] {pid, cstr(path), fileActions, attr, argv, envp});
    }

    static int posix_spawn_file_actions_init(Pointer fa) {
        return POSIX_SPAWN_FILE_ACTIONS_INIT.invokeInt(new Object[] {fa});
    }

    static int posix_spawn_file_actions_destroy(Pointer fa) {
        return POSIX_SPAWN_FILE_ACTIONS_DESTROY.invokeInt(new Object[] {fa});
    }

    static int posix_spawn_file_actions_addopen(Pointer fa, int fd, String path, int oflag, int mode) {
        return POSIX_SPAWN_FILE_ACTIONS_ADDOPEN.invokeInt(new Object[] {fa, fd, cstr(path), oflag, mode});
    }

    static int posix_spawn_file_actions_adddup2(Pointer fa, int fd, int newfd) {
        return POSIX_SPAWN_FILE_ACTIONS_ADDDUP2.invokeInt(new Object[] {fa, fd, newfd});
    }

    static int posix_spawn_file_actions_addclose(Pointer fa, int fd) {
        return POSIX_SPAWN_FILE_ACTIONS_ADDCLOSE.invokeInt(new Object[] {fa, fd});
    }

    static int posix_spawn_file_actions_addclosefrom_np(Pointer fa, int from) {
        return POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP.invokeInt(new Object[] {fa, from});
    }

    static int posix_spawnattr_init(Pointer attr) {
        return POSIX_SPAWNATTR_INIT.invokeInt(new Object[] {attr});
    }

    static int posix_spawnattr_destroy(Pointer attr) {
        return POSIX_SPAWNATTR_DESTROY.invokeInt(new Object[] {attr});
    }

    static int posix_spawnattr_setflags(Pointer attr, short flags) {
        return POSIX_SPAWNATTR_SETFLAGS.invokeInt(new Object[] {attr, flags});
    }

    static int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset) {
        return POSIX_SPAWNATTR_SETSIGMASK.invokeInt(new Object[] {attr, sigset});
    }

    static int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset) {
        return POSIX_SPAWNATTR_SETSIGDEFAULT.invokeInt(new Object[] {attr, sigset});
    }

    static int sigemptyset(Pointer set) {
        return SIGEMPTYSET.invokeInt(new Object[] {set});
    }

    static int sigfillset(Pointer set) {
        return SIGFILLSET.invokeInt(new Object[] {set});
    }
}
