package io.berth.net.netlink;

import io.berth.kernel.Errno;
import java.net.InetAddress;
import java.util.List;

/** RTM_DELADDR; idempotent: false when the device lacks the address (EADDRNOTAVAIL). */
public record AddrDel(int index, String label, InetAddress address, int prefixLength) implements NetlinkRequest<Boolean> {
    @Override
    public int type() {
        return Rtnl.RTM_DELADDR;
    }

    @Override
    public int flags() {
        return 0;
    }

    @Override
    public void encode(MessageWriter out) {
        out.u8(Rtnl.family(address)).u8(prefixLength).u8(0).u8(0).u32(index);
        out.attrAddress(Rtnl.IFA_LOCAL, address);
        out.attrAddress(Rtnl.IFA_ADDRESS, address);
    }

    @Override
    public Boolean decode(List<Message> replies) {
        return true;
    }

    @Override
    public Boolean onError(int errno) {
        return errno == Errno.EADDRNOTAVAIL ? false : null;
    }

    @Override
    public String describe() {
        return "RTM_DELADDR " + address.getHostAddress() + "/" + prefixLength + " dev " + label;
    }
}
