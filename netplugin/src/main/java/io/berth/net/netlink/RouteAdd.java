package io.berth.net.netlink;

import java.util.List;
import java.net.InetAddress;

/**
 * RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL in the main table: the default route (dst_len 0) via
 * {@code gateway} out of device {@code oif} (rtnetlink(7), as {@code ip route add default via GW dev DEV}).
 * The gateway must be on-link, i.e. inside a prefix already addressed on {@code oif}.
 */
public record RouteAdd(InetAddress gateway, int oif, String label) implements NetlinkRequest<Void> {
    @Override
    public int type() {
        return Rtnl.RTM_NEWROUTE;
    }

    @Override
    public int flags() {
        return Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL;
    }

    @Override
    public void encode(MessageWriter out) {
        // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
        out.u8(Rtnl.family(gateway)).u8(0).u8(0).u8(0)
                .u8(Rtnl.RT_TABLE_MAIN).u8(Rtnl.RTPROT_BOOT).u8(Rtnl.RT_SCOPE_UNIVERSE).u8(Rtnl.RTN_UNICAST)
                .u32(0);
        out.attrAddress(Rtnl.RTA_GATEWAY, gateway);
        out.attrU32(Rtnl.RTA_OIF, oif);
    }

    @Override
    public Void decode(List<Message> replies) {
        return null;
    }

    @Override
    public String describe() {
        return "RTM_NEWROUTE default via " + gateway.getHostAddress() + " dev " + label;
    }
}
