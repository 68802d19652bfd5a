package io.berth.net;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The built-in network's NAT rules, kept in a table (nftables) or chains (iptables) of berth's own,
 * never touching anyone else's rules. {@link #sync} replaces the whole ruleset with the desired state
 * in one atomic transaction, so it is idempotent and repairs whatever a crash left half-done.
 */
interface Firewall {
    /** One host port DNAT: {@code mapping} to {@code podIp}, held by {@code pod}. */
    record HostPort(PodRef pod, PortMapping mapping, InetAddress podIp) {
    }

    /**
     * The rules to have. {@code cidrs}: pod CIDRs whose traffic leaving the node is masqueraded;
     * {@code ports}: host port DNATs. Empty cidrs and ports mean no rules at all (the table is removed).
     */
    record State(String bridge, List<Cidr> cidrs, List<HostPort> ports) {
        boolean isEmpty() {
            return cidrs.isEmpty() && ports.isEmpty();
        }
    }

    void sync(State desired);

    /** {@code nftables table inet berth} for messages. */
    String describe();

    /** nft where it exists, else iptables (with ip6tables), else null: no NAT possible. */
    static Firewall detect(String table) {
        Path nft = which("nft");
        if (nft != null) {
            return new NftFirewall(nft, table);
        }
        Path iptables = which("iptables-restore");
        if (iptables != null) {
            return new IptablesFirewall(iptables.getParent(), table);
        }
        return null;
    }

    static Path which(String command) {
        String path = System.getenv().getOrDefault("PATH", "");
        var dirs = new java.util.ArrayList<String>(List.of(path.split(":")));
        // The agent may run with a minimal PATH (systemd units, kubelet's environment); look where distros put them.
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        for (String d : dirs) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, command);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
