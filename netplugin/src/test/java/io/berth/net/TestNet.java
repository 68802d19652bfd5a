package io.berth.net;

import io.berth.kernel.DedicatedThread;
import io.berth.kernel.MountFlags;
import io.berth.kernel.Namespace;
import io.berth.kernel.Syscalls;
import io.berth.net.netlink.Link;
import io.berth.net.netlink.LinkDel;
import io.berth.net.netlink.LinkDump;
import io.berth.net.netlink.LinkGet;
import io.berth.net.netlink.NetlinkClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Test fixture: pod netns pins made by the test itself, a test-unique bridge, CIDRs and nft table,
 * and a cleanup that removes all of it (pins, veths on the bridge, the bridge, the table) even after
 * a failure. Traffic only ever goes between namespaces created here.
 */
final class TestNet implements AutoCloseable {
    final String suffix = HexFormat.of().toHexDigits((byte) ThreadLocalRandom.current().nextInt())
            + HexFormat.of().toHexDigits((byte) ThreadLocalRandom.current().nextInt());
    final String bridge = "brt" + suffix;
    final String table = "berthtest" + suffix;
    /** 10.213.X.0/24 and fd00:213:X::/64: clear of this host's routes (192.0.2.0/24, fd00::/64). */
    final int third = ThreadLocalRandom.current().nextInt(1, 250);
    final String cidr4 = "10.213." + third + ".0/24";
    final String cidr6 = "fd00:213:" + Integer.toHexString(third) + "::/64";
    final Path dir;
    private final List<Path> pins = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private static String savedForward4;
    private static String savedForward6;

    TestNet(Path dir) {
        this.dir = dir;
    }

    /** Saves the forwarding sysctls that the network turns on, so that the host is left as found. */
    static void saveSysctls() throws IOException {
        savedForward4 = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        savedForward6 = Files.readString(Path.of("/proc/sys/net/ipv6/conf/all/forwarding")).strip();
    }

    static void restoreSysctls() throws IOException {
        if (savedForward4 != null) Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), savedForward4);
        if (savedForward6 != null) Files.writeString(Path.of("/proc/sys/net/ipv6/conf/all/forwarding"), savedForward6);
    }

    NetworkConfig config(List<String> cidrs) {
        return NetworkConfig.defaults(dir.resolve("state")).withBridge(bridge).withPodCidrs(cidrs).withFirewallTable(table)
                .withCni(dir.resolve("no-cni"), List.of(Path.of("/usr/lib/cni")));
    }

    <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    /** A new network namespace pinned at a file, as the agent does: unshare on a fresh thread, bind-mount its ns. */
    Path newNetns(String name) throws Exception {
        Path pin = dir.resolve("netns-" + name);
        Files.createFile(pin);
        pins.add(pin);
        DedicatedThread.call("mk-" + name, () -> {
            Syscalls.unshare(Namespace.NET.cloneFlag);
            Syscalls.mount("/proc/thread-self/ns/net", pin, null, MountFlags.MS_BIND, null);
            return null;
        });
        return pin;
    }

    void removeNetns(Path pin) {
        try {
            Syscalls.umount2(pin, MountFlags.MNT_DETACH);
        } catch (RuntimeException ignored) {
            // not mounted (already removed)
        }
        try {
            Files.deleteIfExists(pin);
        } catch (IOException ignored) {
            // the @TempDir goes anyway
        }
        pins.remove(pin);
    }

    /** Host links on the test bridge. */
    static List<Link> portsOf(String bridge) {
        try (NetlinkClient nl = NetlinkClient.open()) {
            int br = nl.execute(new LinkGet(bridge)).map(Link::index).orElse(-1);
            return nl.execute(new LinkDump()).stream().filter(l -> l.master() == br).toList();
        }
    }

    static String nftRuleset() {
        return Exec.run(List.of("nft", "list", "ruleset"), null, null, 10).stdout();
    }

    /** A TCP server in {@code netns} that answers each connection with one line and closes it. */
    ServerSocket serve(Path netns, int port, String reply) throws Exception {
        ServerSocket server = DedicatedThread.inNetns(netns, () -> new ServerSocket(port, 50, InetAddress.getByName("::")));
        track(server);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                    out.write((reply + "\n").getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server;
    }

    /** Connects from {@code netns} (null: the node's netns) and returns the line the server sent. */
    static String fetch(Path netns, InetAddress address, int port) throws Exception {
        if (netns == null) {
            return fetchHere(address, port);
        }
        // The socket is created, connected and read on the thread that joined the netns.
        return DedicatedThread.inNetns(netns, () -> fetchHere(address, port));
    }

    static String fetchHere(InetAddress address, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), 3000);
            s.setSoTimeout(3000);
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    @Override
    public void close() {
        for (AutoCloseable c : List.copyOf(closeables).reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the rest must still go
            }
        }
        closeables.clear();
        for (Path pin : List.copyOf(pins)) {
            removeNetns(pin);
        }
        try (NetlinkClient nl = NetlinkClient.open()) {
            for (Link l : portsOf(bridge)) {
                nl.execute(new LinkDel(l.name()));
            }
            nl.execute(new LinkDel(bridge));
        }
        Exec.run(List.of("nft", "delete", "table", "inet", table), null, null, 10);
    }
}
