package io.berth.net;

import io.berth.kernel.DedicatedThread;
import io.berth.kernel.Fd;
import io.berth.kernel.Syscalls;
import io.berth.net.netlink.AddrAdd;
import io.berth.net.netlink.Link;
import io.berth.net.netlink.LinkAddBridge;
import io.berth.net.netlink.LinkAddVeth;
import io.berth.net.netlink.LinkDel;
import io.berth.net.netlink.LinkDump;
import io.berth.net.netlink.LinkGet;
import io.berth.net.netlink.LinkSet;
import io.berth.net.netlink.LinkSetHairpin;
import io.berth.net.netlink.NetlinkClient;
import io.berth.net.netlink.RouteAdd;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/**
 * The built-in pod network: a Linux bridge on the node holding the gateway address of each pod CIDR,
 * and per pod a veth pair whose host end ({@code bth} + 10 hex digits of the pod id's SHA-256) is a
 * hairpin port of the bridge and whose other end is {@code eth0} in the pod's netns, with the pod's
 * addresses and default routes via the gateways. All through rtnetlink; NAT and host ports through
 * {@link Firewall}.
 *
 * <pre>
 *   pod netns                      node netns
 *   lo (up)
 *   eth0 10.x.y.z/24 ═══ veth ═══ bthXXXXXXXXXX ── berth0 (10.x.y.1/24, fdXX::1/64) ── NAT ── out
 *   default via 10.x.y.1
 * </pre>
 *
 * Operations are serialized on this object: a setup takes a few milliseconds.
 */
public final class BridgeNetwork implements PodNetwork {
    static final String POD_INTERFACE = "eth0";
    static final String VETH_PREFIX = "bth";

    private final NetworkConfig config;
    private final NetlinkClient host;
    private final Ipam ipam;
    private final HostPortRecords hostPorts;
    private final Firewall firewall;
    private final Sysctl sysctl;
    /** The bridge's ifindex once it is known to exist with its addresses for the current CIDRs; 0 to re-check. */
    private int bridgeIndex;
    private Firewall.State synced;
    private String bridgeError;
    /** Pods whose veth awaits deletion by the reaper; their addresses are held until it is gone. */
    private final Set<String> reaping = new HashSet<>();
    private final java.util.concurrent.LinkedBlockingQueue<String> reapQueue = new java.util.concurrent.LinkedBlockingQueue<>();
    private final Thread reaper;
    private final int reapGroup;
    private String reapError;

    public BridgeNetwork(NetworkConfig config) {
        this(config, Firewall.detect(config.firewallTable()));
    }

    BridgeNetwork(NetworkConfig config, Firewall firewall) {
        this.config = config;
        this.firewall = firewall;
        this.sysctl = new Sysctl(config.procSys());
        this.ipam = new Ipam(config.stateDir().resolve("ipam"), config.podCidrs().stream().map(Cidr::parse).toList());
        this.hostPorts = new HostPortRecords(config.stateDir().resolve("hostports"));
        this.host = NetlinkClient.open(); // on the caller's thread: the node's netns
        // A device group of our own (ip-link(8) "group"), for batched deletes; derived from the bridge
        // so that two networks on one node never delete each other's devices.
        this.reapGroup = 0x42520000 | (config.bridge().hashCode() & 0xffff);
        NetlinkClient reaperSocket = NetlinkClient.open(); // also in the node's netns
        this.reaper = Thread.ofPlatform().daemon(true).name("berth-veth-reaper-" + config.bridge()).start(() -> reap(reaperSocket));
    }

    /** The host-side veth name of a pod: stable, so teardown and reconcile find it without state. */
    public static String vethName(String podId) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(podId.getBytes(StandardCharsets.UTF_8));
            return VETH_PREFIX + HexFormat.of().formatHex(h).substring(0, 10);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public synchronized Attachment setUp(PodRef pod, Path netns, List<PortMapping> ports) {
        var cleanup = new Cleanup();
        String step = "ensure bridge " + config.bridge();
        try {
            int bridge = ensureBridge();

            step = "check host ports";
            List<PortMapping> mapped = checkHostPorts(pod, ports);

            step = "allocate addresses";
            // A retried setup after a teardown whose veth deletion is still pending: keep the addresses
            // (the reaper must not release them) and delete the old veth right here.
            reaping.remove(pod.id());
            List<Ipam.Allocation> allocations = ipam.allocate(pod.id());
            cleanup.push("release addresses of pod " + pod.id(), () -> ipam.release(pod.id()));

            String veth = vethName(pod.id());
            step = "create veth " + veth;
            // A leftover from an earlier attempt whose undo failed would make the create fail with EEXIST.
            host.execute(new LinkDel(veth));
            try (Fd ns = Syscalls.open(netns, Syscalls.O_RDONLY)) {
                host.execute(new LinkAddVeth(veth, config.mtu(), bridge, POD_INTERFACE, ns.get()));
            }
            cleanup.push("delete veth " + veth, () -> host.execute(new LinkDel(veth)));

            step = "set hairpin on " + veth;
            Link hostEnd = host.execute(new LinkGet(veth))
                    .orElseThrow(() -> new NetworkException(veth + " vanished right after it was created"));
            host.execute(new LinkSetHairpin(hostEnd.index(), veth, true));

            step = "configure " + POD_INTERFACE + " in netns " + netns;
            configurePodSide(netns, allocations);

            if (!mapped.isEmpty()) {
                step = "map host ports";
                hostPorts.put(pod, toHostPorts(pod, mapped, allocations));
                cleanup.push("unmap host ports of pod " + pod.id(), () -> {
                    hostPorts.remove(pod.id());
                    syncFirewall();
                });
                syncFirewall();
            }

            var ips = allocations.stream().map(Ipam.Allocation::address)
                    .sorted(Comparator.comparing(a -> a instanceof Inet6Address)).toList();
            return new Attachment(ips, POD_INTERFACE);
        } catch (HostPortConflictException e) {
            cleanup.unwind(e);
            throw e;
        } catch (RuntimeException e) {
            cleanup.unwind(e);
            if (step.startsWith("ensure bridge")) {
                bridgeIndex = 0;
            }
            throw new NetworkException("set up network of pod " + pod.describe() + ": " + step + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void tearDown(PodRef pod, Path netns) {
        String step = "unmap host ports";
        try {
            if (hostPorts.has(pod.id())) {
                // Sync the rules without the pod first, then forget the record: a failed sync leaves the
                // record, so a retried teardown (or reconcile) tries again.
                syncFirewall(pod.id());
                hostPorts.remove(pod.id());
            }
            // Deleting a veth costs ~15 ms of RCU grace periods in the kernel (unregister_netdevice),
            // far more than everything else; the reaper deletes it in the background, batching
            // deletions, and only then frees the pod's addresses, so none is reused while still on a
            // device. A crash before that leaves a veth on the bridge and a reservation of a dead pod:
            // reconcile removes both.
            step = "queue deletion of veth " + vethName(pod.id());
            if (reaping.add(pod.id())) {
                reapQueue.add(pod.id());
            }
        } catch (RuntimeException e) {
            throw new NetworkException("tear down network of pod " + pod.describe() + ": " + step + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized Readiness status() {
        if (ipam.cidrs().isEmpty()) {
            return Readiness.notReady("NoPodCidr", "no pod CIDR configured: waiting for kubelet's UpdateRuntimeConfig pod_cidr");
        }
        if (firewall == null) {
            return Readiness.notReady("NoFirewall", "neither nft nor iptables-restore found: egress NAT and host ports are unavailable");
        }
        if (bridgeError != null) {
            return Readiness.notReady("BridgeSetupFailed", bridgeError);
        }
        if (reapError != null) {
            return Readiness.notReady("VethDeletionFailed", reapError);
        }
        return Readiness.ok();
    }

    @Override
    public synchronized void reconcile(Set<String> livePodIds) {
        awaitReaper(java.time.Duration.ofSeconds(30));
        ipam.reconcile(livePodIds);
        boolean portsChanged = false;
        for (String podId : hostPorts.all().keySet()) {
            if (!livePodIds.contains(podId)) {
                hostPorts.remove(podId);
                portsChanged = true;
            }
        }
        Set<String> liveVeths = new HashSet<>();
        livePodIds.forEach(id -> liveVeths.add(vethName(id)));
        int bridge = host.execute(new LinkGet(config.bridge())).map(Link::index).orElse(0);
        for (Link l : host.execute(new LinkDump())) {
            if (bridge != 0 && l.master() == bridge && l.name().startsWith(VETH_PREFIX) && !liveVeths.contains(l.name())) {
                host.execute(new LinkDel(l.name()));
            }
        }
        if (portsChanged || synced == null) {
            if (bridge != 0 || !ipam.all().isEmpty() || portsChanged) {
                syncFirewall();
            }
        }
    }

    @Override
    public synchronized void updatePodCidrs(List<String> cidrs) {
        List<Cidr> parsed = cidrs.stream().filter(s -> !s.isBlank()).map(Cidr::parse).toList();
        if (parsed.stream().filter(Cidr::isV6).count() > 1 || parsed.stream().filter(c -> !c.isV6()).count() > 1) {
            throw new IllegalArgumentException("at most one IPv4 and one IPv6 pod CIDR, got " + cidrs);
        }
        if (parsed.equals(ipam.cidrs())) {
            return;
        }
        ipam.setCidrs(parsed);
        bridgeIndex = 0; // the bridge needs the new gateway addresses, the firewall the new CIDRs
    }

    /** The pod CIDRs new pods get addresses from. */
    public synchronized List<String> podCidrs() {
        return ipam.cidrs().stream().map(Cidr::toString).toList();
    }

    /** Removes the NAT rules when no pod is left (they would only matter for pods), then the socket. */
    @Override
    public synchronized void close() {
        try {
            awaitReaper(java.time.Duration.ofSeconds(30));
            reaper.interrupt();
            if (ipam.all().isEmpty() && hostPorts.all().isEmpty() && firewall != null) {
                firewall.sync(new Firewall.State(config.bridge(), List.of(), List.of()));
                synced = null;
            }
        } finally {
            host.close();
        }
    }

    /**
     * Waits until the veths of torn-down pods are deleted and their addresses freed (close and
     * reconcile do; tests and benchmarks use it to see the final state). Returns false on timeout.
     */
    public synchronized boolean awaitReaper(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!reaping.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !reaper.isAlive()) {
                return false;
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /**
     * The reaper thread: takes every queued pod, moves its host veth into this network's device group
     * and deletes the group in one RTM_DELLINK (one unregister batch for all of them; deleting the
     * host end deletes the pod end too), then frees the pods' addresses unless a retried setUp has
     * claimed the pod again meanwhile.
     */
    private void reap(NetlinkClient nl) {
        try (nl) {
            while (true) {
                var batch = new ArrayList<String>();
                batch.add(reapQueue.take());
                reapQueue.drainTo(batch);
                String error = null;
                try {
                    for (String podId : batch) {
                        String veth = vethName(podId);
                        var link = nl.execute(new LinkGet(veth));
                        if (link.isPresent()) {
                            nl.execute(new io.berth.net.netlink.LinkSetGroup(link.get().index(), veth, reapGroup));
                        }
                    }
                    nl.execute(new io.berth.net.netlink.LinkDelGroup(reapGroup));
                } catch (RuntimeException e) {
                    // Fall back to one RTM_DELLINK per device (ENODEV counts as done) before giving up.
                    try {
                        for (String podId : batch) {
                            nl.execute(new LinkDel(vethName(podId)));
                        }
                    } catch (RuntimeException again) {
                        again.addSuppressed(e);
                        error = "delete veths of torn-down pods " + batch + ": " + again.getMessage();
                        System.getLogger(BridgeNetwork.class.getName()).log(System.Logger.Level.WARNING, error, again);
                    }
                }
                synchronized (this) {
                    if (error == null) {
                        for (String podId : batch) {
                            if (reaping.remove(podId)) {
                                ipam.release(podId);
                            }
                        }
                        reapError = null;
                    } else {
                        // The addresses stay held (a veth may still carry them); reconcile or a retried
                        // teardown after the cause is fixed frees them.
                        batch.forEach(reaping::remove);
                        reapError = error;
                    }
                    notifyAll();
                }
            }
        } catch (InterruptedException e) {
            // close()
        }
    }

    /**
     * Makes sure the bridge exists, is up, holds each CIDR's gateway address, that forwarding is on,
     * and that the NAT rules match; the full check runs once per start and after a CIDR change, later
     * calls only confirm the bridge still exists (one RTM_GETLINK).
     */
    private int ensureBridge() {
        if (ipam.cidrs().isEmpty()) {
            throw new NetworkException("no pod CIDR configured (network.podCidrs or kubelet's pod_cidr)");
        }
        try {
            String name = config.bridge();
            Link br = host.execute(new LinkGet(name)).orElse(null);
            if (br != null && bridgeIndex == br.index()) {
                return bridgeIndex;
            }
            if (br == null) {
                host.execute(new LinkAddBridge(name, config.mtu(), bridgeMac(name)));
                br = host.execute(new LinkGet(name)).orElseThrow(() -> new NetworkException("bridge " + name + " vanished after creation"));
            } else if (!"bridge".equals(br.kind())) {
                throw new NetworkException("device " + name + " exists but is a " + (br.kind() == null ? "device" : br.kind()) + ", not a bridge");
            } else if (!br.isUp()) {
                host.execute(LinkSet.up(br.index(), name));
            }
            boolean v6 = false;
            for (Cidr c : ipam.cidrs()) {
                host.execute(new AddrAdd(br.index(), name, c.gateway(), c.prefixLength(), true));
                v6 |= c.isV6();
            }
            // Pods reach beyond the node only if the node routes for them (ip-sysctl.rst).
            sysctl.ensure("net/ipv4/ip_forward", "1");
            if (v6) {
                sysctl.ensure("net/ipv6/conf/all/forwarding", "1");
            }
            // A host port reached at 127.0.0.1 is DNAT'ed to a pod: route_localnet lets a packet with a
            // 127/8 source leave through the bridge (it is then masqueraded, see NftFirewall).
            sysctl.ensure("net/ipv4/conf/" + name + "/route_localnet", "1");
            syncFirewall();
            bridgeIndex = br.index();
            bridgeError = null;
            return bridgeIndex;
        } catch (RuntimeException e) {
            bridgeError = e.getMessage();
            throw e;
        }
    }

    /** A fixed, locally administered unicast MAC derived from the bridge name. */
    static byte[] bridgeMac(String bridge) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(("berth-bridge:" + bridge).getBytes(StandardCharsets.UTF_8));
            byte[] mac = new byte[6];
            System.arraycopy(h, 0, mac, 0, 6);
            mac[0] = (byte) ((mac[0] & 0xfe) | 0x02);
            return mac;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * In the pod's netns, from a fresh thread that joined it (the netlink socket opened there stays
     * bound to it): lo up, the addresses on eth0, a default route per family via the gateway.
     */
    private void configurePodSide(Path netns, List<Ipam.Allocation> allocations) {
        try {
            DedicatedThread.inNetns(netns, () -> {
                try (NetlinkClient pod = NetlinkClient.open()) {
                    Link lo = pod.execute(new LinkGet("lo")).orElseThrow(() -> new NetworkException("no lo in the pod netns"));
                    if (!lo.isUp()) {
                        pod.execute(LinkSet.up(lo.index(), "lo"));
                    }
                    Link eth = pod.execute(new LinkGet(POD_INTERFACE))
                            .orElseThrow(() -> new NetworkException(POD_INTERFACE + " missing in the pod netns after the veth was created"));
                    pod.execute(LinkSet.up(eth.index(), POD_INTERFACE));
                    for (Ipam.Allocation a : allocations) {
                        pod.execute(new AddrAdd(eth.index(), POD_INTERFACE, a.address(), a.cidr().prefixLength(), false));
                    }
                    for (Ipam.Allocation a : allocations) {
                        pod.execute(new RouteAdd(a.cidr().gateway(), eth.index(), POD_INTERFACE));
                    }
                }
                return null;
            });
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new NetworkException(Objects.toString(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetworkException("interrupted", e);
        }
    }

    /** The mapped ports, refused when another pod (or this request twice) holds the same host port. */
    private List<PortMapping> checkHostPorts(PodRef pod, List<PortMapping> ports) {
        var mapped = ports.stream().filter(PortMapping::mapped).distinct().toList();
        if (!mapped.isEmpty() && firewall == null) {
            throw new NetworkException("host ports need nft or iptables, neither was found");
        }
        for (int i = 0; i < mapped.size(); i++) {
            for (int j = i + 1; j < mapped.size(); j++) {
                if (mapped.get(i).clashesWith(mapped.get(j))) {
                    throw new HostPortConflictException("host port " + mapped.get(j).describe() + " of pod " + pod.describe()
                            + " clashes with its own mapping " + mapped.get(i).describe(), pod.id());
                }
            }
        }
        for (var held : hostPorts.all().entrySet()) {
            if (held.getKey().equals(pod.id())) {
                continue;
            }
            for (Firewall.HostPort h : held.getValue()) {
                for (PortMapping m : mapped) {
                    if (m.clashesWith(h.mapping())) {
                        throw new HostPortConflictException("host port " + m.describe() + " of pod " + pod.describe()
                                + " is already mapped by pod " + h.pod().describe() + " (" + h.mapping().describe() + ")", h.pod().id());
                    }
                }
            }
        }
        return mapped;
    }

    private static List<Firewall.HostPort> toHostPorts(PodRef pod, List<PortMapping> mapped, List<Ipam.Allocation> allocations) {
        var out = new ArrayList<Firewall.HostPort>();
        for (PortMapping m : mapped) {
            int before = out.size();
            for (Ipam.Allocation a : allocations) {
                boolean sameFamily = m.hostIp() == null || (m.hostIp() instanceof Inet4Address) == (a.address() instanceof Inet4Address);
                if (sameFamily) {
                    out.add(new Firewall.HostPort(pod, m, a.address()));
                }
            }
            if (out.size() == before) {
                throw new NetworkException("host port " + m.describe() + ": the pod has no address of host IP "
                        + m.hostIp().getHostAddress() + "'s family");
            }
        }
        return out;
    }

    private void syncFirewall() {
        syncFirewall(null);
    }

    /** Brings the NAT rules to the state of the records, leaving out {@code withoutPod}'s host ports. */
    private void syncFirewall(String withoutPod) {
        if (firewall == null) {
            return;
        }
        var cidrs = new LinkedHashSet<Cidr>(ipam.cidrs());
        ipam.all().forEach(a -> cidrs.add(a.cidr())); // pods on a former CIDR keep their egress
        var ports = hostPorts.flat().stream().filter(p -> !p.pod().id().equals(withoutPod)).toList();
        var desired = new Firewall.State(config.bridge(), List.copyOf(cidrs), ports);
        if (desired.equals(synced)) {
            return;
        }
        firewall.sync(desired);
        synced = desired;
    }

    /** The addresses allocated to a pod (for status after an agent restart). */
    @Override
    public synchronized List<InetAddress> addressesOf(String podId) {
        return ipam.allocationsOf(podId).stream().map(Ipam.Allocation::address)
                .sorted(Comparator.comparing(a -> a instanceof Inet6Address)).toList();
    }
}
