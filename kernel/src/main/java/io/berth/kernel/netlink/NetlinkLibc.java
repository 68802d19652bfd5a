package io.berth.kernel.netlink;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * Raw glibc socket entry points for netlink(7). Package-private: everything else goes through the
 * checked wrappers in {@link NetlinkSyscalls}. Declaring {@link LastErrorException} makes JNA
 * capture errno right after the call, on the same thread (same pattern as io.berth.kernel.Libc,
 * which is package-private to its own package).
 */
interface NetlinkLibc extends Library {
    NetlinkLibc INSTANCE = Native.load("c", NetlinkLibc.class);

    int socket(int domain, int type, int protocol) throws LastErrorException;

    int bind(int fd, byte[] addr, int addrlen) throws LastErrorException;

    int getsockname(int fd, byte[] addr, int[] addrlen) throws LastErrorException;

    int setsockopt(int fd, int level, int optname, byte[] optval, int optlen) throws LastErrorException;

    long sendto(int fd, byte[] buf, long len, int flags, Pointer destAddr, int addrlen) throws LastErrorException;

    long recvfrom(int fd, Pointer buf, long len, int flags, Pointer srcAddr, Pointer addrlen) throws LastErrorException;
}
