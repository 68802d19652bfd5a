package io.berth.net.netlink;

import io.berth.kernel.Syscalls;
import io.berth.kernel.netlink.NetlinkErrno;

/**
 * The kernel refused an rtnetlink request. The message names the operation, its object and the
 * errno, plus the kernel's extended-ack text when it gave one:
 * {@code RTM_NEWLINK veth bth1a2b3c4d5e: EEXIST (File exists)}.
 */
public final class NetlinkException extends RuntimeException {
    private final int errno;

    public NetlinkException(String operation, int errno, String kernelMessage) {
        super(operation + ": " + NetlinkErrno.name(errno) + " (" + Syscalls.strerror(errno) + ")"
                + (kernelMessage == null || kernelMessage.isEmpty() ? "" : " [kernel: " + kernelMessage + "]"));
        this.errno = errno;
    }

    public NetlinkException(String operation, String problem) {
        super(operation + ": " + problem);
        this.errno = 0;
    }

    public int errno() {
        return errno;
    }
}
