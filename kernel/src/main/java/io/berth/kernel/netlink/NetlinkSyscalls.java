package io.berth.kernel.netlink;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import io.berth.kernel.Errno;
import io.berth.kernel.Fd;
import io.berth.kernel.SyscallException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Checked wrappers over {@link NetlinkLibc} for netlink(7) sockets: each retries EINTR and throws a
 * {@link SyscallException} naming the call, its arguments and the errno. A netlink socket stays bound
 * to the network namespace of the thread that created it (netlink(7), network_namespaces(7)), so open
 * it on a thread that has joined the pod's netns to act inside that netns.
 */
public final class NetlinkSyscalls {
    public static final int AF_NETLINK = 16;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int NETLINK_ROUTE = 0;

    public static final int SOL_SOCKET = 1;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    /** SO_RCVTIMEO_OLD on x86_64/generic (asm-generic/socket.h): struct timeval with 64-bit fields. */
    public static final int SO_RCVTIMEO = 20;
    public static final int SOL_NETLINK = 270;
    /** Extended ACK: the kernel adds its own error text (NLMSGERR_ATTR_MSG) to NLMSG_ERROR (netlink(7)). */
    public static final int NETLINK_EXT_ACK = 11;
    /** Strict checking of dump requests' headers (rtnetlink since 4.20). */
    public static final int NETLINK_GET_STRICT_CHK = 12;

    private NetlinkSyscalls() {
    }

    /** socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, protocol) in the calling thread's network namespace. */
    public static Fd socket(int protocol) {
        try {
            return new Fd(NetlinkLibc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), "netlink socket (protocol " + protocol + ")");
        } catch (LastErrorException e) {
            throw new SyscallException("socket", "AF_NETLINK SOCK_RAW|SOCK_CLOEXEC protocol " + protocol, e.getErrorCode());
        }
    }

    /** bind(2) to a sockaddr_nl with nl_pid 0 (the kernel assigns the port id) and no multicast groups. */
    public static void bindAutoPort(Fd fd) {
        byte[] addr = sockaddrNl(0, 0);
        try {
            NetlinkLibc.bind(fd.get(), addr, addr.length);
        } catch (LastErrorException e) {
            throw new SyscallException("bind", fd + " sockaddr_nl{pid 0, groups 0}", e.getErrorCode());
        }
    }

    /** getsockname(2): the port id the kernel assigned to this netlink socket. */
    public static int portId(Fd fd) {
        byte[] addr = new byte[12];
        int[] len = {addr.length};
        try {
            NetlinkLibc.getsockname(fd.get(), addr, len);
        } catch (LastErrorException e) {
            throw new SyscallException("getsockname", fd.toString(), e.getErrorCode());
        }
        return ByteBuffer.wrap(addr).order(ByteOrder.nativeOrder()).getInt(4);
    }

    public static void setsockoptInt(Fd fd, int level, int option, int value) {
        byte[] v = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array();
        try {
            NetlinkLibc.setsockopt(fd.get(), level, option, v, v.length);
        } catch (LastErrorException e) {
            throw new SyscallException("setsockopt", fd + " level " + level + " option " + option + " = " + value, e.getErrorCode());
        }
    }

    /** SO_RCVTIMEO, so that a reply the kernel never sends ends in EAGAIN instead of a hang. */
    public static void setReceiveTimeout(Fd fd, long millis) {
        byte[] tv = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder())
                .putLong(millis / 1000).putLong((millis % 1000) * 1000).array();
        try {
            NetlinkLibc.setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, tv, tv.length);
        } catch (LastErrorException e) {
            throw new SyscallException("setsockopt", fd + " SO_RCVTIMEO " + millis + " ms", e.getErrorCode());
        }
    }

    /** sendto(2) with no destination: an unconnected netlink socket sends to the kernel (nl_pid 0). */
    public static void send(Fd fd, byte[] message, int length) {
        while (true) {
            try {
                long n = NetlinkLibc.sendto(fd.get(), message, length, 0, null, 0);
                if (n != length) {
                    throw new SyscallException("sendto", fd + " " + length + " bytes (sent " + n + ")", Errno.EIO);
                }
                return;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException("sendto", fd + " " + length + " bytes", e.getErrorCode());
                }
            }
        }
    }

    /**
     * recvfrom(2) into {@code buffer}; returns the datagram's length. EAGAIN means the receive timeout
     * expired. A datagram longer than the buffer is truncated by the kernel; callers size the buffer
     * for rtnetlink's dump chunks (the kernel fills at most max(recv size, 32 KiB) per datagram).
     */
    public static int receive(Fd fd, Memory buffer) {
        while (true) {
            try {
                return (int) NetlinkLibc.recvfrom(fd.get(), buffer, buffer.size(), 0, null, null);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new SyscallException("recvfrom", fd.toString(), e.getErrorCode());
                }
            }
        }
    }

    private static byte[] sockaddrNl(int pid, int groups) {
        return ByteBuffer.allocate(12).order(ByteOrder.nativeOrder())
                .putShort((short) AF_NETLINK).putShort((short) 0).putInt(pid).putInt(groups).array();
    }
}
