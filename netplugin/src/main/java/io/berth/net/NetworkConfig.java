package io.berth.net;

import java.nio.file.Path;
import java.util.List;

/**
 * Node network settings (the agent's config keys under {@code network.*}).
 *
 * @param bridge      built-in network: the bridge's name (at most 15 bytes, IFNAMSIZ)
 * @param podCidrs    built-in network: one IPv4 and/or one IPv6 CIDR; empty until kubelet sends pod_cidr
 * @param stateDir    where IP allocations, host-port records and CNI results survive restarts
 * @param cniConfDir  CNI network configs (.conf, .conflist, .json); the lexically first is used
 * @param cniBinDirs  where CNI plugin executables are searched, in order (CNI_PATH)
 * @param mtu         MTU of the bridge and veths, 0 for the kernel default (1500)
 * @param firewallTable name of the nftables table ({@code inet NAME}) or iptables chain prefix
 * @param procSys     /proc/sys, a parameter so that sysctl writes can be redirected in tests
 */
public record NetworkConfig(String bridge, List<String> podCidrs, Path stateDir, Path cniConfDir, List<Path> cniBinDirs,
                            int mtu, String firewallTable, Path procSys) {
    public static final String DEFAULT_BRIDGE = "berth0";
    public static final Path DEFAULT_CNI_CONF_DIR = Path.of("/etc/cni/net.d");
    public static final Path DEFAULT_CNI_BIN_DIR = Path.of("/opt/cni/bin");
    public static final String DEFAULT_FIREWALL_TABLE = "berth";

    public NetworkConfig {
        if (bridge == null || bridge.isEmpty() || bridge.length() > 15 || bridge.contains("/") || bridge.contains(" ")) {
            throw new IllegalArgumentException("bridge name must be 1..15 characters without '/' or spaces, got '" + bridge + "'");
        }
        if (firewallTable == null || !firewallTable.matches("[A-Za-z][A-Za-z0-9_-]{0,20}")) {
            throw new IllegalArgumentException("firewall table name must match [A-Za-z][A-Za-z0-9_-]{0,20}, got '" + firewallTable + "'");
        }
        podCidrs = List.copyOf(podCidrs);
        cniBinDirs = List.copyOf(cniBinDirs);
        podCidrs.forEach(Cidr::parse); // fail early with the parser's message
    }

    /** Defaults for a node: bridge berth0, no CIDR yet, /etc/cni/net.d, /opt/cni/bin, kernel MTU, table berth. */
    public static NetworkConfig defaults(Path stateDir) {
        return new NetworkConfig(DEFAULT_BRIDGE, List.of(), stateDir, DEFAULT_CNI_CONF_DIR, List.of(DEFAULT_CNI_BIN_DIR), 0,
                DEFAULT_FIREWALL_TABLE, Path.of("/proc/sys"));
    }

    public NetworkConfig withBridge(String b) {
        return new NetworkConfig(b, podCidrs, stateDir, cniConfDir, cniBinDirs, mtu, firewallTable, procSys);
    }

    public NetworkConfig withPodCidrs(List<String> c) {
        return new NetworkConfig(bridge, c, stateDir, cniConfDir, cniBinDirs, mtu, firewallTable, procSys);
    }

    public NetworkConfig withCni(Path confDir, List<Path> binDirs) {
        return new NetworkConfig(bridge, podCidrs, stateDir, confDir, binDirs, mtu, firewallTable, procSys);
    }

    public NetworkConfig withMtu(int m) {
        return new NetworkConfig(bridge, podCidrs, stateDir, cniConfDir, cniBinDirs, m, firewallTable, procSys);
    }

    public NetworkConfig withFirewallTable(String t) {
        return new NetworkConfig(bridge, podCidrs, stateDir, cniConfDir, cniBinDirs, mtu, t, procSys);
    }
}
