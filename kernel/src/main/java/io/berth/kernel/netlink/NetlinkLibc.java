package io.berth.kernel.netlink;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;

/**
 * Raw glibc socket entry points for netlink(7). Package-private: everything else goes through the
 * checked wrappers in {@link NetlinkSyscalls}. Declaring {@link LastErrorException} makes JNA
 * capture errno right after the call, on the same thread. Bound with JNA direct mapping, unlike
 * io.berth.kernel.Libc: only the agent's network plugin calls these, and it pays the mapping's
 * one-time start-up cost (see Libc) once.
 */
final class NetlinkLibc {
    static {
        io.berth.kernel.Jna.registerLibc(NetlinkLibc.class);
    }

    private NetlinkLibc() {
    }

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int bind(int fd, byte[] addr, int addrlen) throws LastErrorException;

    static native int getsockname(int fd, byte[] addr, int[] addrlen) throws LastErrorException;

    static native int setsockopt(int fd, int level, int optname, byte[] optval, int optlen) throws LastErrorException;

    static native long sendto(int fd, byte[] buf, long len, int flags, Pointer destAddr, int addrlen) throws LastErrorException;

    static native long recvfrom(int fd, Pointer buf, long len, int flags, Pointer srcAddr, Pointer addrlen) throws LastErrorException;
}
