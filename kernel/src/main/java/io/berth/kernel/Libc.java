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

    long syscall(long number, Object... args) throws LastErrorException;

    Pointer strerror(int errnum);
}
