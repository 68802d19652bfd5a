package io.berth.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * Raw glibc entry points. Package-private: everything else goes through the checked wrappers in
 * {@link Syscalls}, which decode arguments and name the errno. Declaring
 * {@link LastErrorException} makes JNA capture errno right after the call, on the same thread.
 *
 * <p>Loaded once, on whatever thread first touches this class; DESIGN.md: load JNA on a normal
 * thread at start-up, before any thread taints itself by joining a PID namespace.
 */
interface Libc extends Library {
    Libc INSTANCE = Native.load("c", Libc.class);

    int open(String path, int flags, int mode) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    long read(int fd, byte[] buf, long count) throws LastErrorException;

    long write(int fd, byte[] buf, long count) throws LastErrorException;

    int unshare(int flags) throws LastErrorException;

    int setns(int fd, int nstype) throws LastErrorException;

    int mount(String source, String target, String fstype, long flags, String data) throws LastErrorException;

    int umount2(String target, int flags) throws LastErrorException;

    int sethostname(String name, long len) throws LastErrorException;

    int kill(int pid, int sig) throws LastErrorException;

    int pipe2(int[] fds, int flags) throws LastErrorException;

    int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws LastErrorException;

    int setsid() throws LastErrorException;

    int setpriority(int which, int who, int prio) throws LastErrorException;

    long syscall(long number, Object... args) throws LastErrorException;

    Pointer strerror(int errnum);

    int chdir(String path) throws LastErrorException;

    int fchdir(int fd) throws LastErrorException;

    int mknod(String path, int mode, long dev) throws LastErrorException;

    int chmod(String path, int mode) throws LastErrorException;

    int chown(String path, int uid, int gid) throws LastErrorException;

    int lchown(String path, int uid, int gid) throws LastErrorException;

    int symlink(String target, String linkpath) throws LastErrorException;

    int unlink(String path) throws LastErrorException;

    int ioctl(int fd, long request, Pointer arg) throws LastErrorException;

    int waitpid(int pid, int[] status, int options) throws LastErrorException;

    int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    int dup(int fd) throws LastErrorException;

    // posix_spawn(3) and friends: they return an error number instead of setting errno.
    int posix_spawn(int[] pid, String path, Pointer fileActions, Pointer attr, String[] argv, String[] envp);

    int posix_spawn_file_actions_init(Pointer fa);

    int posix_spawn_file_actions_destroy(Pointer fa);

    int posix_spawn_file_actions_addopen(Pointer fa, int fd, String path, int oflag, int mode);

    int posix_spawn_file_actions_adddup2(Pointer fa, int fd, int newfd);

    int posix_spawn_file_actions_addclose(Pointer fa, int fd);

    int posix_spawn_file_actions_addclosefrom_np(Pointer fa, int from);

    int posix_spawnattr_init(Pointer attr);

    int posix_spawnattr_destroy(Pointer attr);

    int posix_spawnattr_setflags(Pointer attr, short flags);

    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

    int sigemptyset(Pointer set);

    int sigfillset(Pointer set);
}
