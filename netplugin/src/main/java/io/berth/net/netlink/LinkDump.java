package io.berth.net.netlink;

import java.util.List;

/** RTM_GETLINK with NLM_F_DUMP: every device of the socket's netns (a multipart reply). */
public record LinkDump() implements NetlinkRequest<List<Link>> {
    @Override
    public int type() {
        return Rtnl.RTM_GETLINK;
    }

    @Override
    public int flags() {
        return Rtnl.NLM_F_DUMP;
    }

    @Override
    public void encode(MessageWriter out) {
        out.ifinfomsg(Rtnl.AF_UNSPEC, 0, 0, 0);
    }

    @Override
    public List<Link> decode(List<Message> replies) {
        return NetlinkClient.only(replies, Rtnl.RTM_NEWLINK).stream().map(Link::decode).toList();
    }

    @Override
    public String describe() {
        return "RTM_GETLINK dump";
    }
}
