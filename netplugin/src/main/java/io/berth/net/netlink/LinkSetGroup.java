package io.berth.net.netlink;

import io.berth.kernel.netlink.NetlinkErrno;
import java.util.List;

/**
 * RTM_NEWLINK setting IFLA_GROUP (the device group, {@code ip link set DEV group N}); cheap, no RCU
 * wait. Returns false when the device is gone (ENODEV), e.g. deleted with its network namespace.
 */
public record LinkSetGroup(int index, String label, int group) implements NetlinkRequest<Boolean> {
    @Override
    public int type() {
        return Rtnl.RTM_NEWLINK;
    }

    @Override
    public int flags() {
        return 0;
    }

    @Override
    public void encode(MessageWriter out) {
        out.ifinfomsg(Rtnl.AF_UNSPEC, index, 0, 0);
        out.attrU32(Rtnl.IFLA_GROUP, group);
    }

    @Override
    public Boolean decode(List<Message> replies) {
        return true;
    }

    @Override
    public Boolean onError(int errno) {
        return errno == NetlinkErrno.ENODEV ? false : null;
    }

    @Override
    public String describe() {
        return "RTM_NEWLINK set " + label + " group " + Integer.toUnsignedString(group);
    }
}
