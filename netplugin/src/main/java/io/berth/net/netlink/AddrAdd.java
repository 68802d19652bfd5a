package io.berth.net.netlink;

import io.berth.kernel.Errno;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

/**
 * RTM_NEWADDR with NLM_F_CREATE|NLM_F_EXCL: adds {@code address/prefixLength} to a device (IPv4 or
 * IPv6; the kernel adds the prefix route). IPv6 addresses get IFA_F_NODAD: duplicate address
 * detection would keep them "tentative" (unusable) for about a second, and IPAM already guarantees
 * uniqueness on the bridge. Returns false when the address already exists and {@code ifAbsent}.
 */
public record AddrAdd(int index, String label, InetAddress address, int prefixLength, boolean ifAbsent)
        implements NetlinkRequest<Boolean> {
    @Override
    public int type() {
        return Rtnl.RTM_NEWADDR;
    }

    @Override
    public int flags() {
        return Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL;
    }

    @Override
    public void encode(MessageWriter out) {
        boolean v6 = address instanceof Inet6Address;
        // ifaddrmsg: family, prefixlen, flags, scope, index
        out.u8(Rtnl.family(address)).u8(prefixLength).u8(v6 ? Rtnl.IFA_F_NODAD : 0).u8(0).u32(index);
        out.attrAddress(Rtnl.IFA_LOCAL, address);
        out.attrAddress(Rtnl.IFA_ADDRESS, address);
        if (v6) {
            out.attrU32(Rtnl.IFA_FLAGS, Rtnl.IFA_F_NODAD);
        }
    }

    @Override
    public Boolean decode(List<Message> replies) {
        return true;
    }

    @Override
    public Boolean onError(int errno) {
        return ifAbsent && errno == Errno.EEXIST ? false : null;
    }

    @Override
    public String describe() {
        return "RTM_NEWADDR " + address.getHostAddress() + "/" + prefixLength + " dev " + label;
    }
}
