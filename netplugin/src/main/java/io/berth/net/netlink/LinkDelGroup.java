package io.berth.net.netlink;

import io.berth.kernel.netlink.NetlinkErrno;
import java.util.List;

/**
 * RTM_DELLINK with ifi_index 0 and IFLA_GROUP: deletes every device of the group in one
 * unregister_netdevice_many (rtnl_group_dellink), so the RCU grace periods that dominate a device's
 * deletion (~15 ms each here) are paid once per batch instead of once per device. Returns false when
 * the group is empty.
 */
public record LinkDelGroup(int group) implements NetlinkRequest<Boolean> {
    @Override
    public int type() {
        return Rtnl.RTM_DELLINK;
    }

    @Override
    public int flags() {
        return 0;
    }

    @Override
    public void encode(MessageWriter out) {
        out.ifinfomsg(Rtnl.AF_UNSPEC, 0, 0, 0);
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
        return "RTM_DELLINK group " + Integer.toUnsignedString(group);
    }
}
