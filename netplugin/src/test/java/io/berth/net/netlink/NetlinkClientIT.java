package io.berth.net.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.Errno;
import io.berth.kernel.testing.RequiresRoot;
import io.berth.net.Cidr;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The generic client on the real kernel: create, get, dump, set, address, delete; errors named. */
@RequiresRoot
class NetlinkClientIT {
    final String bridge = "nlt" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt() & 0xffff, 4);
    final NetlinkClient nl = NetlinkClient.open();

    @AfterEach
    void cleanUp() {
        nl.execute(new LinkDel(bridge));
        nl.close();
        nl.close(); // idempotent
    }

    @Test
    void linkLifecycleAndNamedErrors() {
        nl.execute(new LinkAddBridge(bridge, 1400, new byte[] {2, 0, 0, 1, 2, 3}));
        Link l = nl.execute(new LinkGet(bridge)).orElseThrow();
        assertEquals("bridge", l.kind());
        assertEquals(1400, l.mtu());
        assertTrue(l.isUp());
        assertTrue(nl.execute(new LinkDump()).stream().anyMatch(x -> x.index() == l.index() && x.name().equals(bridge)));

        var e = assertThrows(NetlinkException.class, () -> nl.execute(new LinkAddBridge(bridge, 0, null)));
        assertEquals(Errno.EEXIST, e.errno());
        assertTrue(e.getMessage().startsWith("RTM_NEWLINK bridge " + bridge + ": EEXIST (File exists)"), e.getMessage());

        nl.execute(LinkSet.mtu(l.index(), bridge, 1300));
        assertEquals(1300, nl.execute(new LinkGet(bridge)).orElseThrow().mtu());
        var addr = Cidr.literal("10.213.250.1", "x");
        assertTrue(nl.execute(new AddrAdd(l.index(), bridge, addr, 24, true)));
        assertFalse(nl.execute(new AddrAdd(l.index(), bridge, addr, 24, true)), "EEXIST tolerated when asked");
        var v6 = Cidr.literal("fd00:213:250::1", "x");
        assertTrue(nl.execute(new AddrAdd(l.index(), bridge, v6, 64, false)));
        assertTrue(nl.execute(new AddrDump(Rtnl.AF_UNSPEC)).stream().anyMatch(a -> a.address().equals(v6) && a.prefixLength() == 64));
        assertTrue(nl.execute(new AddrDel(l.index(), bridge, addr, 24)));
        assertFalse(nl.execute(new AddrDel(l.index(), bridge, addr, 24)));

        nl.execute(LinkSet.rename(l.index(), bridge, bridge + "x"));
        assertTrue(nl.execute(new LinkGet(bridge + "x")).isPresent());
        nl.execute(LinkSet.rename(l.index(), bridge + "x", bridge));

        assertTrue(nl.execute(new LinkDel(bridge)));
        assertFalse(nl.execute(new LinkDel(bridge)), "deleting a missing link is not an error");
        assertTrue(nl.execute(new LinkGet(bridge)).isEmpty());
        var r = assertThrows(NetlinkException.class, () -> nl.execute(new RouteAdd(Cidr.literal("10.213.251.1", "x"), 999999, "nodev")));
        assertTrue(r.getMessage().startsWith("RTM_NEWROUTE default via 10.213.251.1 dev nodev: "), r.getMessage());
    }
}
