package io.berth.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.DedicatedThread;
import io.berth.kernel.testing.RequiresRoot;
import io.berth.net.netlink.Address;
import io.berth.net.netlink.AddrDump;
import io.berth.net.netlink.Link;
import io.berth.net.netlink.LinkDump;
import io.berth.net.netlink.LinkGet;
import io.berth.net.netlink.NetlinkClient;
import io.berth.net.netlink.Rtnl;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@RequiresRoot
class BridgeNetworkIT {
    @TempDir
    Path dir;
    TestNet t;

    @BeforeAll
    static void saveSysctls() throws IOException {
        TestNet.saveSysctls();
    }

    @AfterAll
    static void restoreSysctls() throws IOException {
        TestNet.restoreSysctls();
    }

    @BeforeEach
    void fixture() {
        t = new TestNet(dir);
    }

    @AfterEach
    void cleanUp() {
        t.close();
    }

    static PodRef pod(String id) {
        return new PodRef(id, "pod-" + id, "default", "uid-" + id);
    }

    /** A network whose pods are torn down (and which is closed) by the fixture, even on failure. */
    BridgeNetwork network(List<String> cidrs) {
        BridgeNetwork net = new BridgeNetwork(t.config(cidrs));
        t.track(net);
        return net;
    }

    Attachment up(BridgeNetwork net, PodRef pod, Path ns, List<PortMapping> ports) {
        Attachment a = net.setUp(pod, ns, ports);
        t.track(() -> net.tearDown(pod, ns));
        return a;
    }

    @Test
    void twoPodsGetDistinctAddressesAndTalkOverTcp() throws Exception {
        BridgeNetwork net = network(List.of(t.cidr4));
        Path nsA = t.newNetns("a"), nsB = t.newNetns("b");
        Attachment a = up(net, pod("aaaa"), nsA, List.of());
        Attachment b = up(net, pod("bbbb"), nsB, List.of());
        assertEquals("eth0", a.interfaceName());
        assertEquals(1, a.ips().size());
        assertNotEquals(a.ips(), b.ips());
        assertTrue(Cidr.parse(t.cidr4).contains(a.ips().getFirst()), a.ips().toString());

        t.serve(nsA, 8080, "hello from a");
        assertEquals("hello from a", TestNet.fetch(nsB, a.ips().getFirst(), 8080));
        // the node reaches the pod through the bridge
        assertEquals("hello from a", TestNet.fetch(null, a.ips().getFirst(), 8080));

        // inside the pod: eth0 with the address, lo up
        List<Object> inside = DedicatedThread.inNetns(nsA, () -> {
            try (NetlinkClient nl = NetlinkClient.open()) {
                Link lo = nl.execute(new LinkGet("lo")).orElseThrow();
                Link eth = nl.execute(new LinkGet("eth0")).orElseThrow();
                List<Address> addrs = nl.execute(new AddrDump(Rtnl.AF_INET));
                return List.of(lo.isUp(), eth.isUp(), addrs.stream().anyMatch(x -> x.address().equals(a.ips().getFirst()) && x.index() == eth.index()));
            }
        });
        assertEquals(List.of(true, true, true), inside);
        assertEquals(2, TestNet.portsOf(t.bridge).size());
        String veth = BridgeNetwork.vethName("aaaa");
        assertEquals("1", Files.readString(Path.of("/sys/class/net/" + veth + "/brport/hairpin_mode")).strip(), "hairpin on");
    }

    @Test
    void hostPortsForwardFromLoopbackAndTheBridgeAddressAndAreExclusive() throws Exception {
        BridgeNetwork net = network(List.of(t.cidr4));
        Path nsA = t.newNetns("a"), nsB = t.newNetns("b");
        int hostPort = 30000 + t.third;
        up(net, pod("aaaa"), nsA, List.of(new PortMapping(PortMapping.Protocol.TCP, 8080, hostPort, null)));
        t.serve(nsA, 8080, "via host port");
        assertEquals("via host port", TestNet.fetch(null, InetAddress.getByName("127.0.0.1"), hostPort));
        InetAddress gateway = Cidr.parse(t.cidr4).gateway();
        assertEquals("via host port", TestNet.fetch(null, gateway, hostPort));
        assertTrue(TestNet.nftRuleset().contains("dport " + hostPort + " dnat ip to"), TestNet.nftRuleset());

        var e = assertThrows(HostPortConflictException.class,
                () -> net.setUp(pod("bbbb"), nsB, List.of(new PortMapping(PortMapping.Protocol.TCP, 80, hostPort, null))));
        assertTrue(e.getMessage().contains("already mapped by pod default/pod-aaaa (id aaaa)"), e.getMessage());
        assertEquals("aaaa", e.holderPodId());
        // the refused pod left nothing behind, and another protocol on the same port is fine
        assertEquals(1, TestNet.portsOf(t.bridge).size());
        up(net, pod("bbbb"), nsB, List.of(new PortMapping(PortMapping.Protocol.UDP, 80, hostPort, null)));

        net.tearDown(pod("aaaa"), nsA);
        assertFalse(TestNet.nftRuleset().contains("tcp dport " + hostPort), TestNet.nftRuleset());
        net.tearDown(pod("aaaa"), nsA); // idempotent
    }

    @Test
    void dualStackGivesBothFamiliesAndIpv6Works() throws Exception {
        BridgeNetwork net = network(List.of(t.cidr4, t.cidr6));
        Path nsA = t.newNetns("a"), nsB = t.newNetns("b");
        Attachment a = up(net, pod("aaaa"), nsA, List.of());
        up(net, pod("bbbb"), nsB, List.of());
        assertEquals(2, a.ips().size());
        assertTrue(a.ips().get(0) instanceof Inet4Address);
        assertTrue(a.ips().get(1) instanceof Inet6Address);
        t.serve(nsA, 8081, "six");
        assertEquals("six", TestNet.fetch(nsB, a.ips().get(1), 8081));
        assertEquals("six", TestNet.fetch(null, a.ips().get(1), 8081));
        assertEquals("six", TestNet.fetch(nsB, a.ips().get(0), 8081));
        assertEquals("1", Files.readString(Path.of("/proc/sys/net/ipv6/conf/all/forwarding")).strip());
    }

    @Test
    void aChangedPodCidrIsUsedForNewPods() throws Exception {
        BridgeNetwork net = network(List.of());
        assertFalse(net.status().ready());
        assertEquals("NoPodCidr", net.status().reason());
        Path nsA = t.newNetns("a"), nsB = t.newNetns("b");
        net.updatePodCidrs(List.of(t.cidr4));
        assertTrue(net.status().ready(), net.status().toString());
        Attachment a = up(net, pod("aaaa"), nsA, List.of());
        String other = "10.214." + t.third + ".0/24";
        net.updatePodCidrs(List.of(other));
        Attachment b = up(net, pod("bbbb"), nsB, List.of());
        assertTrue(Cidr.parse(t.cidr4).contains(a.ips().getFirst()));
        assertTrue(Cidr.parse(other).contains(b.ips().getFirst()), b.ips().toString());
        // both still reach each other through the node (two gateways on one bridge)
        t.serve(nsA, 8082, "old cidr");
        assertEquals("old cidr", TestNet.fetch(nsB, a.ips().getFirst(), 8082));
    }

    @Test
    void aCrashBetweenSetupAndTeardownIsReconciled() throws Exception {
        var cfg = t.config(List.of(t.cidr4));
        Path nsA = t.newNetns("a"), nsB = t.newNetns("b");
        BridgeNetwork first = new BridgeNetwork(cfg);
        Attachment a = first.setUp(pod("aaaa"), nsA, List.of(new PortMapping(PortMapping.Protocol.TCP, 80, 31000 + t.third, null)));
        Attachment b = first.setUp(pod("bbbb"), nsB, List.of());
        // a torn reservation, as a kill -9 between create and write leaves it
        Path torn = cfg.stateDir().resolve("ipam").resolve(Cidr.parse(t.cidr4).at(java.math.BigInteger.valueOf(200)).getHostAddress());
        Files.createFile(torn);
        // "kill -9": the object is dropped without teardown; a new instance starts on the same state
        BridgeNetwork second = network(List.of(t.cidr4));
        t.track(() -> second.tearDown(pod("bbbb"), nsB));
        second.reconcile(Set.of("bbbb"));

        assertFalse(Files.exists(torn));
        assertEquals(List.of(b.ips().getFirst()), second.addressesOf("bbbb"));
        assertEquals(List.of(), second.addressesOf("aaaa"));
        assertTrue(TestNet.portsOf(t.bridge).stream().noneMatch(l -> l.name().equals(BridgeNetwork.vethName("aaaa"))));
        assertFalse(TestNet.nftRuleset().contains("pod aaaa"), "host port of the dead pod is gone");
        try (var files = Files.list(cfg.stateDir().resolve("ipam"))) {
            assertEquals(1, files.count());
        }
        // no double allocation: new pods never get b's address (a's may come back after the round)
        var seen = new HashSet<InetAddress>();
        for (int i = 0; i < 3; i++) {
            Path nsC = t.newNetns("c" + i); // a sandbox gets a new netns every time
            Attachment c = second.setUp(pod("cccc" + i), nsC, List.of());
            assertNotEquals(b.ips().getFirst(), c.ips().getFirst());
            assertTrue(seen.add(c.ips().getFirst()));
            second.tearDown(pod("cccc" + i), nsC);
        }
        first.close();
        assertNotEquals(null, a);
    }

    @Test
    void twoHundredSandboxesLeaveNothingBehind() throws Exception {
        BridgeNetwork net = network(List.of(t.cidr4, t.cidr6));
        Path ns = t.newNetns("many");
        int hostPort = 32000 + t.third;
        for (int i = 0; i < 200; i++) {
            // each pod its own netns, like sandboxes: pins are cheap
            Path podNs = i == 0 ? ns : t.newNetns("p" + i);
            PodRef p = pod("pod" + i);
            List<PortMapping> ports = i % 10 == 0 ? List.of(new PortMapping(PortMapping.Protocol.TCP, 80, hostPort, null)) : List.of();
            Attachment att = net.setUp(p, podNs, ports);
            assertEquals(2, att.ips().size());
            net.tearDown(p, podNs);
            if (i > 0) t.removeNetns(podNs);
        }
        net.close();
        assertEquals(List.of(), TestNet.portsOf(t.bridge), "no veth left on the bridge");
        try (NetlinkClient nl = NetlinkClient.open()) {
            assertTrue(nl.execute(new LinkDump()).stream().noneMatch(l -> l.name().startsWith(BridgeNetwork.VETH_PREFIX)
                    && l.name().length() == 13 && l.master() != 0 && l.name().equals(BridgeNetwork.vethName("pod1"))));
        }
        assertFalse(TestNet.nftRuleset().contains("table inet " + t.table), TestNet.nftRuleset());
        try (Stream<Path> files = Files.list(t.config(List.of()).stateDir().resolve("ipam"))) {
            assertEquals(List.of(), files.toList());
        }
        try (Stream<Path> files = Files.list(t.config(List.of()).stateDir().resolve("hostports"))) {
            assertEquals(List.of(), files.toList());
        }
    }

    @Test
    void failuresNameTheStepAndUndoWhatWasAcquired() throws Exception {
        BridgeNetwork net = network(List.of(t.cidr4));
        Path missing = dir.resolve("no-such-netns");
        var e = assertThrows(NetworkException.class, () -> net.setUp(pod("zzzz"), missing, List.of()));
        assertTrue(e.getMessage().contains("set up network of pod default/pod-zzzz (id zzzz): create veth " + BridgeNetwork.vethName("zzzz")),
                e.getMessage());
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        assertEquals(List.of(), net.addressesOf("zzzz"), "the allocation was undone");
        net.tearDown(pod("zzzz"), missing); // teardown of a pod that never came up succeeds
    }
}
