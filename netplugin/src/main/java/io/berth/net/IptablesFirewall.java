package io.berth.net;

import java.net.Inet6Address;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * iptables fallback for hosts without nft: the same rules as {@link NftFirewall}, in chains of
 * berth's own ({@code NAME-POST}, {@code NAME-PRE}, {@code NAME-OUT}, {@code NAME-HP}) of the nat
 * table, for IPv4 (iptables) and IPv6 (ip6tables). Each chain is replaced through
 * {@code iptables-restore --noflush} (a declared chain is flushed and refilled in one commit; other
 * chains are left alone); the jumps from the built-in chains are added once, checked with -C.
 */
final class IptablesFirewall implements Firewall {
    private final Path bin;
    private final String prefix;

    IptablesFirewall(Path bin, String table) {
        this.bin = bin;
        this.prefix = table;
    }

    @Override
    public String describe() {
        return "iptables chains " + prefix + "-* in table nat";
    }

    @Override
    public void sync(State desired) {
        for (boolean v6 : new boolean[] {false, true}) {
            List<Cidr> cidrs = desired.cidrs().stream().filter(c -> c.isV6() == v6).toList();
            List<HostPort> ports = desired.ports().stream().filter(p -> (p.podIp() instanceof Inet6Address) == v6).toList();
            String tool = v6 ? "ip6tables" : "iptables";
            if (!bin.resolve(tool).toFile().canExecute()) {
                if (cidrs.isEmpty() && ports.isEmpty()) continue;
                throw new NetworkException("sync " + describe() + ": " + bin.resolve(tool) + " not found");
            }
            if (cidrs.isEmpty() && ports.isEmpty()) {
                remove(tool);
            } else {
                apply(tool, v6, desired.bridge(), cidrs, ports);
            }
        }
    }

    private void apply(String tool, boolean v6, String bridge, List<Cidr> cidrs, List<HostPort> ports) {
        String post = prefix + "-POST", pre = prefix + "-PRE", outc = prefix + "-OUT", hp = prefix + "-HP";
        var r = new StringBuilder("*nat\n");
        for (String c : List.of(post, pre, outc, hp)) {
            r.append(':').append(c).append(" - [0:0]\n");
        }
        for (Cidr c : cidrs) {
            r.append("-A ").append(post).append(" -s ").append(c).append(" ! -o ").append(bridge).append(" -j MASQUERADE\n");
            r.append("-A ").append(post).append(" -s ").append(c).append(" -o ").append(bridge)
                    .append(" -m conntrack --ctstate DNAT -j MASQUERADE\n");
        }
        if (!v6) {
            r.append("-A ").append(post).append(" -s 127.0.0.0/8 -o ").append(bridge).append(" -m conntrack --ctstate DNAT -j MASQUERADE\n");
        }
        r.append("-A ").append(pre).append(" -m addrtype --dst-type LOCAL -j ").append(hp).append('\n');
        r.append("-A ").append(outc).append(" -m addrtype --dst-type LOCAL -j ").append(hp).append('\n');
        for (HostPort p : ports) {
            PortMapping m = p.mapping();
            r.append("-A ").append(hp);
            if (m.hostIp() != null) {
                r.append(" -d ").append(m.hostIp().getHostAddress());
            }
            r.append(" -p ").append(m.protocol().lower()).append(" --dport ").append(m.hostPort())
                    .append(" -m comment --comment \"pod ").append(p.pod().id()).append('"')
                    .append(" -j DNAT --to-destination ")
                    .append(v6 ? "[" + p.podIp().getHostAddress() + "]" : p.podIp().getHostAddress())
                    .append(':').append(m.containerPort()).append('\n');
        }
        r.append("COMMIT\n");
        run(List.of(bin.resolve(tool + "-restore").toString(), "-w", "5", "--noflush"), r.toString());
        for (String[] jump : new String[][] {{"POSTROUTING", post}, {"PREROUTING", pre}, {"OUTPUT", outc}}) {
            var check = new ArrayList<>(List.of(bin.resolve(tool).toString(), "-w", "5", "-t", "nat", "-C", jump[0], "-j", jump[1]));
            if (Exec.run(check, null, null, 30).exit() != 0) {
                check.set(5, "-A");
                run(check, null);
            }
        }
    }

    private void remove(String tool) {
        String t = bin.resolve(tool).toString();
        for (String[] jump : new String[][] {{"POSTROUTING", "-POST"}, {"PREROUTING", "-PRE"}, {"OUTPUT", "-OUT"}}) {
            // -D removes one occurrence per call; bounded in case something added it repeatedly.
            for (int i = 0; i < 10 && Exec.run(List.of(t, "-w", "5", "-t", "nat", "-D", jump[0], "-j", prefix + jump[1]), null, null, 30).exit() == 0; i++) {
                // removed one
            }
        }
        for (String c : List.of("-POST", "-PRE", "-OUT", "-HP")) {
            Exec.run(List.of(t, "-w", "5", "-t", "nat", "-F", prefix + c), null, null, 30);
        }
        for (String c : List.of("-POST", "-PRE", "-OUT", "-HP")) {
            Exec.run(List.of(t, "-w", "5", "-t", "nat", "-X", prefix + c), null, null, 30);
        }
    }

    private void run(List<String> command, String stdin) {
        Exec.Result r = Exec.run(command, null, stdin, 30);
        if (r.exit() != 0) {
            throw new NetworkException(String.join(" ", command) + " (" + describe() + "): exit " + r.exit() + ": " + r.stderr().strip());
        }
    }
}
