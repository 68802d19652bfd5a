package io.berth.net.netlink;

import java.util.List;

/**
 * RTM_NEWLINK with IFLA_INFO_KIND "veth": creates a veth pair in one step, the host end in the
 * socket's netns (up, enslaved to {@code masterIndex}) and the peer directly inside the netns that
 * {@code peerNetnsFd} refers to (IFLA_NET_NS_FD inside VETH_INFO_PEER, veth(4)), already named
 * {@code peerName} (down: see encode). Creating the peer in place saves the move and rename steps and never
 * exposes a half-configured device in the host netns.
 *
 * @param mtu         for both ends, 0 for the kernel default
 * @param masterIndex the bridge, or 0
 */
public record LinkAddVeth(String name, int mtu, int masterIndex, String peerName, int peerNetnsFd)
        implements NetlinkRequest<Void> {
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
        if (masterIndex > 0) {
            out.attrU32(Rtnl.IFLA_MASTER, masterIndex);
        }
        int info = out.begin(Rtnl.IFLA_LINKINFO);
        out.attrString(Rtnl.IFLA_INFO_KIND, "veth");
        int data = out.begin(Rtnl.IFLA_INFO_DATA);
        int peer = out.begin(Rtnl.VETH_INFO_PEER);
        // Not IFF_UP here: veth_newlink configures the peer before the pair is linked, and veth_open
        // of an unpaired device fails with ENOTCONN. Bring the peer up afterwards from its netns.
        out.ifinfomsg(Rtnl.AF_UNSPEC, 0, 0, 0);
        out.attrString(Rtnl.IFLA_IFNAME, peerName);
        if (mtu > 0) {
            out.attrU32(Rtnl.IFLA_MTU, mtu);
        }
        out.attrU32(Rtnl.IFLA_NET_NS_FD, peerNetnsFd);
        out.end(peer);
        out.end(data);
        out.end(info);
    }

    @Override
    public Void decode(List<Message> replies) {
        return null;
    }

    @Override
    public String describe() {
        return "RTM_NEWLINK veth " + name + " (peer " + peerName + " in netns fd " + peerNetnsFd + ")";
    }
}
