package io.berth.net.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The wire encoding, checked against the layout in netlink(7)/rtnetlink(7) without a kernel. */
class MessageWriterTest {
    @Test
    void aVethRequestNestsThePeerWithItsOwnIfinfomsg() {
        var w = new MessageWriter(Rtnl.RTM_NEWLINK, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK, 7);
        new LinkAddVeth("bth0123456789", 1400, 5, "eth0", 42).encode(w);
        byte[] bytes = w.finish();
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, w.length()).order(ByteOrder.nativeOrder());
        assertEquals(w.length(), b.getInt(0), "nlmsg_len");
        assertEquals(Rtnl.RTM_NEWLINK, b.getShort(4));
        assertEquals(7, b.getInt(8), "seq");
        assertEquals(0, w.length() % 4, "NLMSG_ALIGN");
        var msg = new Message(Rtnl.RTM_NEWLINK, 0, 7, b.slice(16, w.length() - 16).order(ByteOrder.nativeOrder()));
        Attributes a = msg.attributes(16);
        assertEquals(Rtnl.IFF_UP, msg.payload().getInt(8), "host end created up");
        assertEquals("bth0123456789", a.string(Rtnl.IFLA_IFNAME));
        assertEquals(1400, a.u32(Rtnl.IFLA_MTU, 0));
        assertEquals(5, a.u32(Rtnl.IFLA_MASTER, 0));
        Attributes info = a.nested(Rtnl.IFLA_LINKINFO);
        assertEquals("veth", info.string(Rtnl.IFLA_INFO_KIND));
        byte[] peer = info.nested(Rtnl.IFLA_INFO_DATA).bytes(Rtnl.VETH_INFO_PEER);
        ByteBuffer p = ByteBuffer.wrap(peer).order(ByteOrder.nativeOrder());
        assertEquals(0, p.getInt(8), "peer flags: not up (veth_open of an unpaired device is ENOTCONN)");
        Attributes peerAttrs = Attributes.parse(p, 16, peer.length);
        assertEquals("eth0", peerAttrs.string(Rtnl.IFLA_IFNAME));
        assertEquals(42, peerAttrs.u32(Rtnl.IFLA_NET_NS_FD, -1));
    }

    @Test
    void requestsDescribeTheirOperationAndObject() {
        assertEquals("RTM_NEWLINK bridge berth0", new LinkAddBridge("berth0", 0, null).describe());
        assertEquals("RTM_DELLINK bth1", new LinkDel("bth1").describe());
        assertEquals("RTM_NEWROUTE default via 10.0.0.1 dev eth0",
                new RouteAdd(io.berth.net.Cidr.literal("10.0.0.1", "x"), 3, "eth0").describe());
        assertEquals("RTM_NEWADDR 10.0.0.5/24 dev eth0", new AddrAdd(3, "eth0", io.berth.net.Cidr.literal("10.0.0.5", "x"), 24, false).describe());
    }
}
