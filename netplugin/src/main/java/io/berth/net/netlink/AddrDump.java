package io.berth.net.netlink;

import java.util.List;

/** RTM_GETADDR with NLM_F_DUMP for one family (AF_INET, AF_INET6, or AF_UNSPEC for both). */
public record AddrDump(int family) implements NetlinkRequest<List<Address>> {
    @Override
    public int type() {
        return Rtnl.RTM_GETADDR;
    }

    @Override
    public int flags() {
        return Rtnl.NLM_F_DUMP;
    }

    @Override
    public void encode(MessageWriter out) {
        out.u8(family).u8(0).u8(0).u8(0).u32(0);
    }

    @Override
    public List<Address> decode(List<Message> replies) {
        return NetlinkClient.only(replies, Rtnl.RTM_NEWADDR).stream().map(Address::decode).toList();
    }

    @Override
    public String describe() {
        return "RTM_GETADDR dump";
    }
}
