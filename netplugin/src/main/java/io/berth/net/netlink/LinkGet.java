package io.berth.net.netlink;

import io.berth.kernel.netlink.NetlinkErrno;
import java.util.List;
import java.util.Optional;

/** RTM_GETLINK for one device by name (IFLA_IFNAME); empty when it does not exist (ENODEV). */
public record LinkGet(String name) implements NetlinkRequest<Optional<Link>> {
    @Override
    public int type() {
        return Rtnl.RTM_GETLINK;
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
    public Optional<Link> decode(List<Message> replies) {
        return NetlinkClient.only(replies, Rtnl.RTM_NEWLINK).stream().map(Link::decode).findFirst();
    }

    @Override
    public Optional<Link> onError(int errno) {
        return errno == NetlinkErrno.ENODEV ? Optional.empty() : null;
    }

    @Override
    public String describe() {
        return "RTM_GETLINK " + name;
    }
}
