package io.berth.net.netlink;

import java.util.List;

/**
 * RTM_NEWLINK on an existing device (no NLM_F_CREATE), as {@code ip link set} does: any of up/down,
 * master, MTU and name. Null fields are left unchanged.
 *
 * @param label the device's name for messages (the request itself addresses it by index)
 */
public record LinkSet(int index, String label, Boolean up, Integer master, Integer mtu, String newName)
        implements NetlinkRequest<Void> {
    public static LinkSet up(int index, String label) {
        return new LinkSet(index, label, true, null, null, null);
    }

    public static LinkSet master(int index, String label, int master) {
        return new LinkSet(index, label, null, master, null, null);
    }

    public static LinkSet mtu(int index, String label, int mtu) {
        return new LinkSet(index, label, null, null, mtu, null);
    }

    public static LinkSet rename(int index, String label, String newName) {
        return new LinkSet(index, label, null, null, null, newName);
    }

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
        int flags = up != null && up ? Rtnl.IFF_UP : 0;
        out.ifinfomsg(Rtnl.AF_UNSPEC, index, flags, up != null ? Rtnl.IFF_UP : 0);
        if (master != null) {
            out.attrU32(Rtnl.IFLA_MASTER, master);
        }
        if (mtu != null) {
            out.attrU32(Rtnl.IFLA_MTU, mtu);
        }
        if (newName != null) {
            out.attrString(Rtnl.IFLA_IFNAME, newName);
        }
    }

    @Override
    public Void decode(List<Message> replies) {
        return null;
    }

    @Override
    public String describe() {
        var d = new StringBuilder("RTM_NEWLINK set ").append(label);
        if (up != null) d.append(up ? " up" : " down");
        if (master != null) d.append(" master ").append(master);
        if (mtu != null) d.append(" mtu ").append(mtu);
        if (newName != null) d.append(" name ").append(newName);
        return d.toString();
    }
}
