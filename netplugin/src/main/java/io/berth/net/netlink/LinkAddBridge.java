package io.berth.net.netlink;

import java.util.List;

/**
 * RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL and IFLA_INFO_KIND "bridge": creates a bridge, up.
 * A fixed MAC (IFLA_ADDRESS) keeps the bridge from taking the lowest MAC of its ports, which would
 * change whenever a pod comes or goes and leave stale neighbour entries in every pod.
 *
 * @param mtu 0 for the kernel's default
 * @param mac 6 bytes, or null for a random one
 */
public record LinkAddBridge(String name, int mtu, byte[] mac) implements NetlinkRequest<Void> {
    @Override
    public int type() {
        return Rtnl.RTM_NEWLINK;
    }

    @Override
    public int flags() {
        return Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL;
    }

    @Override
    public void encode(MessageWriter out) {
        out.ifinfomsg(Rtnl.AF_UNSPEC, 0, Rtnl.IFF_UP, Rtnl.IFF_UP);
        out.attrString(Rtnl.IFLA_IFNAME, name);
        if (mtu > 0) {
            out.attrU32(Rtnl.IFLA_MTU, mtu);
        }
        if (mac != null) {
            out.attr(Rtnl.IFLA_ADDRESS, mac);
        }
        int info = out.begin(Rtnl.IFLA_LINKINFO);
        out.attrString(Rtnl.IFLA_INFO_KIND, "bridge");
        out.end(info);
    }

    @Override
    public Void decode(List<Message> replies) {
        return null;
    }

    @Override
    public String describe() {
        return "RTM_NEWLINK bridge " + name;
    }
}
