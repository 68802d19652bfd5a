package io.berth.kernel;

/**
 * A system call failed. The message reads like runc's: the call, its decoded arguments, the errno
 * name and its text, e.g. {@code mount overlay on /run/berth/c/1a2b/rootfs (MS_NODEV): EINVAL (Invalid argument)}.
 */
public final class SyscallException extends RuntimeException {
    private final String call;
    private final int errno;

    public SyscallException(String call, String detail, int errno) {
        super(call + " " + detail + ": " + Errno.name(errno) + " (" + Syscalls.strerror(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }
}
