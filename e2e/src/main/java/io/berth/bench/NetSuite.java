package io.berth.bench;

import io.berth.kernel.DedicatedThread;
import io.berth.kernel.MountFlags;
import io.berth.kernel.Namespace;
import io.berth.kernel.Syscalls;
import io.berth.net.BridgeNetwork;
import io.berth.net.NetworkConfig;
import io.berth.net.PodNetwork;
import io.berth.net.PodNetworks;
import io.berth.net.PodRef;
import io.berth.net.PortMapping;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Pod network setup + teardown per pod (median, p95 over 50 pods): the built-in bridge network
 * (netlink through JNA), the same with one host port (one nft transaction each way), and the CNI
 * chain bridge + host-local + portmap (+ loopback) from Debian's containernetworking-plugins.
 * Needs root. The netns pins are made before timing starts, as the agent makes them before it
 * calls the network; everything (bridges, tables, pins) is removed afterwards.
 */
final class NetSuite implements Suite {
    static final int PODS = 50;
    static final int WARMUP = 10;

    @Override
    public String name() {
        return "net";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        if (new com.sun.security.auth.module.UnixSystem().getUid() != 0) {
            System.err.println("bench: net suite skipped: needs root");
            return;
        }
        Files.createDirectories(scratch);
        String tag = Long.toHexString(ProcessHandle.current().pid() & 0xffff);
        builtIn(scratch.resolve("builtin"), figures, "bbh" + tag, "berthbench" + tag, false);
        builtIn(scratch.resolve("builtin-port"), figures, "bbp" + tag, "berthbenchp" + tag, true);
        Path cniBin = Files.isExecutable(Path.of("/opt/cni/bin/bridge")) ? Path.of("/opt/cni/bin") : Path.of("/usr/lib/cni");
        if (Files.isExecutable(cniBin.resolve("bridge"))) {
            cni(scratch.resolve("cni"), figures, cniBin, "bbc" + tag);
        } else {
            System.err.println("bench: CNI row skipped: no CNI plugins in /opt/cni/bin or /usr/lib/cni");
        }
    }

    private void builtIn(Path dir, Figures figures, String bridge, String table, boolean withPort) throws Exception {
        var config = NetworkConfig.defaults(dir.resolve("state")).withBridge(bridge).withFirewallTable(table)
                .withPodCidrs(List.of("10.216." + (withPort ? 2 : 1) + ".0/24")).withCni(dir.resolve("no-cni"), List.of());
        List<PortMapping> ports = withPort ? List.of(new PortMapping(PortMapping.Protocol.TCP, 80, 39080, null)) : List.of();
        String label = withPort ? "built-in network, 1 host port" : "built-in network";
        measure(dir, figures, config, ports, label, withPort ? "" : "target <= 10 ms median");
        Exec.quiet("nft", "delete", "table", "inet", table);
        deleteLink(bridge);
    }

    private void cni(Path dir, Figures figures, Path bin, String bridge) throws Exception {
        Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(dir.resolve("net.d").resolve("10-bench.conflist"), """
                {"cniVersion": "1.0.0", "name": "berth-bench", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.216.3.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}],
                            "dataDir": "%s"}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}
                ]}
                """.formatted(bridge, dir.resolve("host-local")));
        var config = NetworkConfig.defaults(dir.resolve("state")).withCni(dir.resolve("net.d"), List.of(bin));
        measure(dir, figures, config, List.of(), "CNI bridge+host-local+portmap (+loopback)", "plugins from " + bin);
        deleteLink(bridge);
    }

    private void measure(Path dir, Figures figures, NetworkConfig config, List<PortMapping> ports, String label, String note) throws Exception {
        String forward = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        var pins = new ArrayList<Path>();
        try (PodNetwork net = PodNetworks.create(config)) {
            for (int i = 0; i < PODS + WARMUP; i++) {
                pins.add(pin(dir, "pod" + i));
            }
            double[] total = new double[PODS], setup = new double[PODS], teardown = new double[PODS];
            long start = 0;
            for (int i = 0; i < PODS + WARMUP; i++) {
                if (i == WARMUP) {
                    settle(net);
                    start = System.nanoTime();
                }
                var pod = new PodRef("benchpod" + i, "bench-" + i, "bench", "uid-" + i);
                long t0 = System.nanoTime();
                net.setUp(pod, pins.get(i), ports);
                long t1 = System.nanoTime();
                net.tearDown(pod, pins.get(i));
                long t2 = System.nanoTime();
                if (i >= WARMUP) {
                    setup[i - WARMUP] = (t1 - t0) / 1e6;
                    teardown[i - WARMUP] = (t2 - t1) / 1e6;
                    total[i - WARMUP] = (t2 - t0) / 1e6;
                }
            }
            settle(net);
            double wallPerPod = (System.nanoTime() - start) / 1e6 / PODS;
            figures.samples("pod network setup+teardown, " + label, "ms", total, note);
            figures.samples("  setup only, " + label, "ms", setup, "");
            figures.samples("  teardown only, " + label, "ms", teardown, "");
            figures.value("  wall time per pod, 50 in a row incl. veth deletion, " + label, "ms", wallPerPod,
                    net instanceof BridgeNetwork ? "veths are deleted in the background, in batches" : "");
        } finally {
            for (Path p : pins) {
                try {
                    Syscalls.umount2(p, MountFlags.MNT_DETACH);
                } catch (RuntimeException ignored) {
                    // not mounted
                }
            }
            Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), forward);
        }
    }

    /** Waits until the built-in network's background veth deletions are done. */
    private static void settle(PodNetwork net) {
        if (net instanceof BridgeNetwork b && !b.awaitReaper(java.time.Duration.ofSeconds(60))) {
            throw new IllegalStateException("veth reaper did not finish within 60 s");
        }
    }

    /** A network namespace pinned at a file, as the agent pins a sandbox's: unshare on a fresh thread, bind-mount. */
    private static Path pin(Path dir, String name) throws Exception {
        Files.createDirectories(dir);
        Path pin = Files.createFile(dir.resolve("netns-" + name));
        DedicatedThread.call("pin-" + name, () -> {
            Syscalls.unshare(Namespace.NET.cloneFlag);
            Syscalls.mount("/proc/thread-self/ns/net", pin, null, MountFlags.MS_BIND, null);
            return null;
        });
        return pin;
    }

    private static void deleteLink(String name) {
        try (var nl = io.berth.net.netlink.NetlinkClient.open()) {
            nl.execute(new io.berth.net.netlink.LinkDel(name));
        }
    }

    private static final class Exec {
        static void quiet(String... command) throws Exception {
            new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        }
    }
}
