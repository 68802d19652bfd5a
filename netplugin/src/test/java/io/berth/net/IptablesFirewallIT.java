package io.berth.net;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.testing.RequiresRoot;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The iptables fallback (used where nft is absent) writes its own chains and removes them again. */
@RequiresRoot
class IptablesFirewallIT {
    final String prefix = "BT" + Long.toHexString(System.nanoTime() & 0xffffff);
    final Set<String> tablesBefore = CniNetworkIT.nftTables();
    final Set<String> chainsBefore = CniNetworkIT.iptablesChains();

    @AfterEach
    void cleanUp() {
        CniNetworkIT.removeChainsAddedSince(chainsBefore);
        for (String table : CniNetworkIT.nftTables()) {
            if (!tablesBefore.contains(table) && List.of("table ip nat", "table ip6 nat").contains(table)) {
                Exec.run(List.of("nft", "delete", table.split(" ")[0], table.split(" ")[1], table.split(" ")[2]), null, null, 10);
            }
        }
    }

    @Test
    void chainsAreFilledAndRemoved() {
        Path bin = Firewall.which("iptables-restore").getParent();
        var fw = new IptablesFirewall(bin, prefix);
        var pod = new PodRef("p1", "web", "default", "u");
        var state = new Firewall.State("brx", List.of(Cidr.parse("10.213.251.0/24"), Cidr.parse("fd00:213:251::/64")), List.of(
                new Firewall.HostPort(pod, new PortMapping(PortMapping.Protocol.TCP, 80, 38080, null), Cidr.literal("10.213.251.2", "x"))));
        fw.sync(state);
        fw.sync(state); // idempotent: chains are refilled, jumps not duplicated
        String v4 = Exec.run(List.of("iptables-save", "-t", "nat"), null, null, 10).stdout();
        assertTrue(v4.contains("-A " + prefix + "-HP -p tcp -m tcp --dport 38080 -m comment --comment \"pod p1\" -j DNAT --to-destination 10.213.251.2:80"), v4);
        assertTrue(v4.contains("-A " + prefix + "-POST -s 10.213.251.0/24 ! -o brx -j MASQUERADE"), v4);
        assertTrue(v4.indexOf("-A POSTROUTING -j " + prefix + "-POST") == v4.lastIndexOf("-A POSTROUTING -j " + prefix + "-POST"), v4);
        String v6 = Exec.run(List.of("ip6tables-save", "-t", "nat"), null, null, 10).stdout();
        assertTrue(v6.contains("-A " + prefix + "-POST -s fd00:213:251::/64 ! -o brx -j MASQUERADE"), v6);

        fw.sync(new Firewall.State("brx", List.of(), List.of()));
        assertFalse(Exec.run(List.of("iptables-save", "-t", "nat"), null, null, 10).stdout().contains(prefix), "chains removed");
        assertFalse(Exec.run(List.of("ip6tables-save", "-t", "nat"), null, null, 10).stdout().contains(prefix), "chains removed");
    }
}
