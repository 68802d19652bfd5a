package io.berth.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fast tests without the kernel: CIDR arithmetic, IPAM on a temp dir, JSON, CNI config parsing, nft rendering. */
class UnitsTest {
    @TempDir
    Path dir;

    @Test
    void cidrsNormaliseAndCount() {
        Cidr c = Cidr.parse("10.213.7.99/24");
        assertEquals("10.213.7.0/24", c.toString());
        assertEquals("10.213.7.1", c.gateway().getHostAddress());
        assertEquals(BigInteger.valueOf(256), c.size());
        assertTrue(c.contains(Cidr.literal("10.213.7.255", "x")));
        assertFalse(c.contains(Cidr.literal("10.213.8.0", "x")));
        Cidr v6 = Cidr.parse("fd00:213:1::/64");
        assertTrue(v6.isV6());
        assertEquals(Cidr.literal("fd00:213:1::1", "x"), v6.gateway());
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("example.com/24"));
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0/31"));
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0"));
    }

    @Test
    void ipamHandsOutEachAddressOnceAndSurvivesANewInstance() throws Exception {
        Cidr c = Cidr.parse("10.213.9.0/29"); // .2 .. .6 usable: network, gateway and broadcast excluded
        Ipam ipam = new Ipam(dir, List.of(c));
        var seen = new HashSet<InetAddress>();
        for (int i = 0; i < 5; i++) {
            assertTrue(seen.add(ipam.allocate("pod" + i).getFirst().address()));
        }
        assertFalse(seen.contains(c.gateway()));
        var full = assertThrows(NetworkException.class, () -> ipam.allocate("pod5"));
        assertTrue(full.getMessage().contains("all 5 addresses are allocated"), full.getMessage());
        assertEquals(ipam.allocate("pod1"), ipam.allocate("pod1"), "idempotent for the same pod");

        // a new instance (agent restart) sees the reservations: nothing is handed out twice
        Ipam again = new Ipam(dir, List.of(c));
        assertThrows(NetworkException.class, () -> again.allocate("pod6"));
        assertEquals(Set.of("pod0", "pod4"), again.reconcile(Set.of("pod1", "pod2", "pod3")));
        InetAddress fresh = again.allocate("pod7").getFirst().address();
        assertTrue(Set.of(ipam.allocationsOf("pod0").getFirst().address(), ipam.allocationsOf("pod4").getFirst().address()).contains(fresh));
        again.release("pod7");
        again.release("pod7");
        try (var files = Files.list(dir)) {
            assertEquals(3, files.count());
        }
    }

    @Test
    void ipamFollowsACidrChangeAndKeepsOldAllocations() {
        Ipam ipam = new Ipam(dir, List.of(Cidr.parse("10.213.10.0/24")));
        var a = ipam.allocate("a").getFirst();
        ipam.setCidrs(List.of(Cidr.parse("10.213.11.0/24"), Cidr.parse("fd00:213:11::/64")));
        var b = ipam.allocate("b");
        assertEquals("10.213.11.0/24", b.get(0).cidr().toString());
        assertTrue(b.get(1).cidr().isV6());
        assertEquals(List.of(a), ipam.allocationsOf("a"));
    }

    @Test
    void jsonRoundTripsAndNamesWhereItBroke() {
        Object v = Json.parse("{\"a\": [1, 2.5, true, null, \"x\\n\\u00e9\"], \"b\": {}}");
        assertEquals("{\"a\":[1,2.5,true,null,\"x\\né\"],\"b\":{}}", Json.write(v));
        var e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\n  \"a\": [1,\n  }"));
        assertEquals("invalid JSON at line 3 column 3: unexpected character '}'", e.getMessage());
    }

    @Test
    void cniConfigsAreValidatedWithTheirOwnWords() throws Exception {
        Files.writeString(dir.resolve("20-b.conflist"), "{}");
        Files.writeString(dir.resolve("10-a.conf"), "{\"cniVersion\": \"0.3.1\", \"name\": \"n\", \"type\": \"bridge\"}");
        Files.writeString(dir.resolve("05-ignored.txt"), "x");
        Path first = CniConfig.find(dir).orElseThrow();
        assertEquals("10-a.conf", first.getFileName().toString());
        CniConfig one = CniConfig.load(first);
        assertEquals(1, one.plugins().size());
        assertFalse(one.atLeast040());
        var e = assertThrows(IllegalArgumentException.class, () -> CniConfig.load(dir.resolve("20-b.conflist")));
        assertTrue(e.getMessage().endsWith("20-b.conflist: missing \"cniVersion\""), e.getMessage());
        Files.writeString(dir.resolve("30-c.conflist"), "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"plugins\": [{\"x\": 1}]}");
        e = assertThrows(IllegalArgumentException.class, () -> CniConfig.load(dir.resolve("30-c.conflist")));
        assertTrue(e.getMessage().endsWith("plugins[0] lacks a plain \"type\""), e.getMessage());
    }

    @Test
    void cniResultsGiveTheIpsIpv4First() {
        @SuppressWarnings("unchecked")
        var result = (Map<String, Object>) Json.parse("""
                {"cniVersion": "1.0.0", "interfaces": [{"name": "cni0"}, {"name": "veth1"}, {"name": "eth0", "sandbox": "/x"}],
                 "ips": [{"address": "fd00::5/64", "interface": 2}, {"address": "10.22.0.5/16", "gateway": "10.22.0.1", "interface": 2}]}
                """);
        Attachment a = CniNetwork.attachment(result);
        assertEquals("eth0", a.interfaceName());
        assertEquals(List.of(Cidr.literal("10.22.0.5", "x"), Cidr.literal("fd00::5", "x")), a.ips());
    }

    @Test
    void hostPortsClashOnProtocolPortAndAddress() {
        var any = new PortMapping(PortMapping.Protocol.TCP, 80, 8080, null);
        var local = new PortMapping(PortMapping.Protocol.TCP, 81, 8080, Cidr.literal("127.0.0.1", "x"));
        var other = new PortMapping(PortMapping.Protocol.TCP, 81, 8080, Cidr.literal("10.0.0.1", "x"));
        assertTrue(any.clashesWith(local));
        assertFalse(local.clashesWith(other));
        assertFalse(any.clashesWith(new PortMapping(PortMapping.Protocol.UDP, 80, 8080, null)));
        assertEquals(null, new PortMapping(PortMapping.Protocol.TCP, 80, 8080, Cidr.literal("0.0.0.0", "x")).hostIp());
    }

    @Test
    void nftRulesetIsOneTransactionThatReplacesTheTable() {
        var fw = new NftFirewall(Path.of("/usr/sbin/nft"), "berthx");
        assertEquals("table inet berthx {}\ndelete table inet berthx\n", fw.render(new Firewall.State("br0", List.of(), List.of())));
        var pod = new PodRef("p1", "web", "default", "u");
        String r = fw.render(new Firewall.State("br0", List.of(Cidr.parse("10.1.0.0/24"), Cidr.parse("fd00:1::/64")), List.of(
                new Firewall.HostPort(pod, new PortMapping(PortMapping.Protocol.TCP, 80, 8080, null), Cidr.literal("10.1.0.2", "x")),
                new Firewall.HostPort(pod, new PortMapping(PortMapping.Protocol.UDP, 53, 5353, Cidr.literal("fd00::9", "x")), Cidr.literal("fd00:1::2", "x")))));
        assertTrue(r.startsWith("table inet berthx {}\ndelete table inet berthx\ntable inet berthx {\n"), r);
        assertTrue(r.contains("ip saddr 10.1.0.0/24 oifname != \"br0\" masquerade"), r);
        assertTrue(r.contains("ip6 saddr fd00:1:0:0:0:0:0:0/64 oifname != \"br0\" masquerade"), r);
        assertTrue(r.contains("meta nfproto ipv4 tcp dport 8080 dnat ip to 10.1.0.2:80 comment \"pod p1\""), r);
        assertTrue(r.contains("ip6 daddr fd00:0:0:0:0:0:0:9 udp dport 5353 dnat ip6 to [fd00:1:0:0:0:0:0:2]:53"), r);
    }

    @Test
    void vethNamesFitIfnamsizAndDiffer() {
        String a = BridgeNetwork.vethName("0123456789abcdef"), b = BridgeNetwork.vethName("0123456789abcdeg");
        assertEquals(13, a.length());
        assertTrue(a.startsWith("bth"));
        assertNotEquals(a, b);
        assertEquals(2, BridgeNetwork.bridgeMac("berth0")[0] & 0x03, "locally administered unicast");
    }
}
