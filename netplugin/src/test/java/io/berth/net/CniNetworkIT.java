package io.berth.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.DedicatedThread;
import io.berth.kernel.testing.RequiresRoot;
import io.berth.net.netlink.Link;
import io.berth.net.netlink.LinkGet;
import io.berth.net.netlink.NetlinkClient;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CNI path with Debian's containernetworking-plugins in /usr/lib/cni: bridge, host-local, portmap, loopback. */
@RequiresRoot
class CniNetworkIT {
    static final Path DEBIAN_CNI = Path.of("/usr/lib/cni");
    @TempDir
    Path dir;
    TestNet t;
    String cniBridge;
    String subnet;
    Set<String> chainsBefore;
    Set<String> tablesBefore;

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
        cniBridge = "cnt" + t.suffix;
        subnet = "10.215." + t.third + ".0/24";
        chainsBefore = iptablesChains();
        tablesBefore = nftTables();
    }

    @AfterEach
    void cleanUp() {
        t.close();
        try (NetlinkClient nl = NetlinkClient.open()) {
            for (Link l : TestNet.portsOf(cniBridge)) {
                nl.execute(new io.berth.net.netlink.LinkDel(l.name()));
            }
            nl.execute(new io.berth.net.netlink.LinkDel(cniBridge));
        }
        removeChainsAddedSince(chainsBefore);
        // portmap's iptables (nf_tables backend) creates the nat tables when they did not exist yet
        for (String table : nftTables()) {
            if (!tablesBefore.contains(table) && List.of("table ip nat", "table ip6 nat", "table ip filter", "table ip6 filter").contains(table)) {
                Exec.run(List.of("nft", "delete", table.split(" ")[0], table.split(" ")[1], table.split(" ")[2]), null, null, 10);
            }
        }
    }

    static Set<String> nftTables() {
        return new LinkedHashSet<>(Exec.run(List.of("nft", "list", "tables"), null, null, 10).stdout().lines().map(String::strip).toList());
    }

    void writeConflist(String name, String text) throws IOException {
        Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(dir.resolve("net.d").resolve(name), text);
    }

    NetworkConfig config() {
        return t.config(List.of()).withCni(dir.resolve("net.d"), List.of(dir.resolve("empty-bin"), DEBIAN_CNI));
    }

    String conflist() {
        return """
                {
                  "cniVersion": "1.0.0",
                  "name": "berthtest-%s",
                  "plugins": [
                    {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}],
                              "dataDir": "%s"}},
                    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
                  ]
                }
                """.formatted(t.suffix, cniBridge, subnet, dir.resolve("host-local"));
    }

    @Test
    void theCniChainSetsUpAndTearsDownAPodAndReportsItsIp() throws Exception {
        writeConflist("10-test.conflist", conflist());
        writeConflist("20-later.conflist", "not even json"); // lexically later: ignored
        PodNetwork net = PodNetworks.create(config());
        t.track(net);
        assertInstanceOf(CniNetwork.class, net);
        assertTrue(net.status().ready(), net.status().toString());

        Path ns = t.newNetns("cni");
        PodRef pod = new PodRef("cnipod1", "web", "default", "uid-1");
        int hostPort = 33000 + t.third;
        Attachment a = net.setUp(pod, ns, List.of(new PortMapping(PortMapping.Protocol.TCP, 8080, hostPort, null)));
        t.track(() -> net.tearDown(pod, ns));
        assertEquals("eth0", a.interfaceName());
        assertEquals(1, a.ips().size());
        InetAddress ip = a.ips().getFirst();
        assertTrue(Cidr.parse(subnet).contains(ip), ip.toString());
        assertEquals(List.of(ip), ((CniNetwork) net).addressesOf(pod.id()));

        boolean[] loUp = DedicatedThread.inNetns(ns, () -> {
            try (NetlinkClient nl = NetlinkClient.open()) {
                return new boolean[] {nl.execute(new LinkGet("lo")).orElseThrow().isUp(), nl.execute(new LinkGet("eth0")).isPresent()};
            }
        });
        assertTrue(loUp[0], "the loopback plugin brought lo up");
        assertTrue(loUp[1]);

        t.serve(ns, 8080, "cni pod");
        assertEquals("cni pod", TestNet.fetch(null, ip, 8080));
        assertEquals("cni pod", TestNet.fetch(null, Cidr.parse(subnet).gateway(), hostPort), "portmap got runtimeConfig.portMappings");

        // CHECK on a pod without host ports (Debian's portmap 1.1 fails CHECK of its own IPv4-only
        // mappings, looking for an IPv6 chain it never made); the bridge and host-local checks run.
        Path ns2 = t.newNetns("cni2");
        PodRef pod2 = new PodRef("cnipod2", "web2", "default", "uid-2");
        Attachment a2 = net.setUp(pod2, ns2, List.of());
        t.track(() -> net.tearDown(pod2, ns2));
        assertFalse(a2.ips().equals(a.ips()));
        ((CniNetwork) net).check(pod2, ns2);
        net.tearDown(pod2, ns2);
        assertTrue(Files.exists(dir.resolve("host-local").resolve("berthtest-" + t.suffix).resolve(ip.getHostAddress())));

        net.tearDown(pod, ns);
        assertEquals(List.of(), TestNet.portsOf(cniBridge), "the bridge plugin's DEL removed the veth");
        assertFalse(Files.exists(dir.resolve("host-local").resolve("berthtest-" + t.suffix).resolve(ip.getHostAddress())),
                "host-local released the IP");
        net.tearDown(pod, ns); // idempotent
        assertEquals(List.of(), ((CniNetwork) net).addressesOf(pod.id()));
    }

    @Test
    void aBrokenConflistMakesTheNetworkNotReadyWithTheParsersMessage() throws Exception {
        writeConflist("10-broken.conflist", "{\"cniVersion\": \"1.0.0\", \"name\": \"x\", \"plugins\": [ {\"type\": \"bridge\" ]}");
        PodNetwork net = PodNetworks.create(config());
        Readiness r = net.status();
        assertFalse(r.ready());
        assertEquals("NetworkPluginNotReady", r.reason());
        assertTrue(r.message().contains("10-broken.conflist: invalid JSON at line 1 column 70: expected ',' or '}'"), r.message());
        var e = assertThrows(NetworkException.class, () -> net.setUp(new PodRef("p", "n", "ns", "u"), dir, List.of()));
        assertTrue(e.getMessage().contains("invalid JSON"), e.getMessage());

        writeConflist("10-broken.conflist", "{\"cniVersion\": \"1.0.0\", \"name\": \"x\", \"plugins\": [{\"type\": \"nosuchplugin\"}]}");
        assertTrue(net.status().message().contains("failed to find plugin \"nosuchplugin\" in path"), net.status().message());

        Files.delete(dir.resolve("net.d").resolve("10-broken.conflist"));
        assertTrue(net.status().message().contains("no network config"), net.status().message());
    }

    @Test
    void aPluginErrorIsReportedInItsOwnWordsAndTheAddIsUndone() throws Exception {
        // host-local with a range that is not a CIDR: the plugin itself refuses it
        writeConflist("10-test.conflist", conflist().replace(subnet, "10.215.999.0/24"));
        PodNetwork net = PodNetworks.create(config());
        Path ns = t.newNetns("bad");
        var e = assertThrows(NetworkException.class, () -> net.setUp(new PodRef("badpod", "n", "ns", "u"), ns, List.of()));
        assertTrue(e.getMessage().startsWith("CNI ADD plugin bridge (network berthtest-" + t.suffix), e.getMessage());
        assertTrue(e.getMessage().contains("10.215.999.0/24"), e.getMessage());
        assertEquals(List.of(), TestNet.portsOf(cniBridge), "the failed ADD was undone with DEL");
    }

    @Test
    void withoutAConfigTheBuiltInNetworkIsChosen() {
        try (PodNetwork net = PodNetworks.create(t.config(List.of(t.cidr4)))) {
            assertInstanceOf(BridgeNetwork.class, net);
        }
    }

    /** Chains of iptables' nat and filter tables (portmap uses iptables), for cleaning up what the plugins add. */
    static Set<String> iptablesChains() {
        var out = new LinkedHashSet<String>();
        for (String tool : List.of("iptables", "ip6tables")) {
            for (String table : List.of("nat", "filter")) {
                for (String line : Exec.run(List.of(tool + "-save", "-t", table), null, null, 10).stdout().split("\n")) {
                    if (line.startsWith(":")) {
                        out.add(tool + " " + table + " " + line.substring(1).split(" ")[0]);
                    }
                }
            }
        }
        return out;
    }

    static void removeChainsAddedSince(Set<String> before) {
        for (String tool : List.of("iptables", "ip6tables"))
        for (String table : List.of("nat", "filter")) {
            String key = tool + " " + table + " ";
            List<String> added = iptablesChains().stream().filter(c -> c.startsWith(key) && !before.contains(c))
                    .map(c -> c.substring(key.length())).toList();
            if (added.isEmpty()) {
                continue;
            }
            var script = new StringBuilder("*" + table + "\n");
            try (Stream<String> lines = Exec.run(List.of(tool + "-save", "-t", table), null, null, 10).stdout().lines()) {
                for (String line : lines.toList()) {
                    for (String c : added) {
                        if (line.startsWith("-A ") && line.contains(" -j " + c) && !added.contains(line.split(" ")[1])) {
                            script.append("-D ").append(line.substring(3)).append('\n');
                        }
                    }
                }
            }
            var chains = new ArrayList<>(added);
            chains.forEach(c -> script.append("-F ").append(c).append('\n'));
            chains.forEach(c -> script.append("-X ").append(c).append('\n'));
            script.append("COMMIT\n");
            Exec.run(List.of(tool + "-restore", "--noflush"), null, script.toString(), 10);
        }
    }
}
