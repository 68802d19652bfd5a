package io.berth.net.netlink;

/**
 * A network device as RTM_NEWLINK describes it (rtnetlink(7)).
 *
 * @param index  ifindex, unique within its netns
 * @param kind   IFLA_INFO_KIND ("bridge", "veth"), or null for devices without rtnl_link_ops (lo, physical)
 * @param master ifindex of the bridge it is enslaved to, or 0
 */
public record Link(int index, String name, int flags, int mtu, int master, String kind, byte[] mac) {
    public boolean isUp() {
        return (flags & Rtnl.IFF_UP) != 0;
    }

    static Link decode(Message m) {
        var p = m.payload();
        int index = p.getInt(4);
        int flags = p.getInt(8);
        Attributes a = m.attributes(16);
        return new Link(index, a.string(Rtnl.IFLA_IFNAME), flags, a.u32(Rtnl.IFLA_MTU, 0), a.u32(Rtnl.IFLA_MASTER, 0),
                a.nested(Rtnl.IFLA_LINKINFO).string(Rtnl.IFLA_INFO_KIND), a.bytes(Rtnl.IFLA_ADDRESS));
    }
}
