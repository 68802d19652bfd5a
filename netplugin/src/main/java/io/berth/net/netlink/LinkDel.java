package io.berth.net.netlink;

import io.berth.kernel.netlink.NetlinkErrno;
import java.util.List;

/**
 * RTM_DELLINK by name (IFLA_IFNAME). Deleting one end of a veth pair deletes both. Idempotent:
 * returns false when no such device exists (ENODEV), true when it was deleted.
 */
public record LinkDel(String name) implements NetlinkRequest<Boolean> {
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
        out.attrString(Rtnl.IFLA_IFNAME, name);
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
        return "RTM_DELLINK " + name;
    }
}
