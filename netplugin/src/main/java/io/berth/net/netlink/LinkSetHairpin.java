package io.berth.net.netlink;

import java.util.List;

/**
 * RTM_NEWLINK with IFLA_LINKINFO{IFLA_INFO_SLAVE_KIND "bridge", IFLA_INFO_SLAVE_DATA{IFLA_BRPORT_MODE}}
 * on a bridge port, as {@code ip link set DEV type bridge_slave hairpin on} does. Hairpin mode lets
 * the bridge send a frame back out of the port it came in on, so a pod can reach itself through a
 * host port or a service address that is DNAT'ed back to it.
 */
public record LinkSetHairpin(int index, String label, boolean on) implements NetlinkRequest<Void> {
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
        int info = out.begin(Rtnl.IFLA_LINKINFO);
        out.attrString(Rtnl.IFLA_INFO_SLAVE_KIND, "bridge");
        int data = out.begin(Rtnl.IFLA_INFO_SLAVE_DATA);
        out.attrU8(Rtnl.IFLA_BRPORT_MODE, on ? 1 : 0);
        out.end(data);
        out.end(info);
    }

    @Override
    public Void decode(List<Message> replies) {
        return null;
    }

    @Override
    public String describe() {
        return "RTM_NEWLINK set " + label + " bridge_slave hairpin " + (on ? "on" : "off");
    }
}
