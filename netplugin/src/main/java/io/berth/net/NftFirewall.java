package io.berth.net;

import java.net.Inet6Address;
import java.nio.file.Path;
import java.util.List;

/**
 * nftables backend: one table {@code inet NAME} holding every berth rule, replaced as a whole in one
 * {@code nft -f -} transaction (nft(8): a file is applied atomically; "add table + delete table"
 * first makes the delete idempotent). Chains:
 * <ul>
 * <li>postrouting (nat, srcnat): masquerade pod traffic leaving the node (not back into the bridge);
 *     masquerade DNAT'ed connections into the bridge that come from 127.0.0.0/8 (a 127.0.0.1 source
 *     cannot leave lo, and the pod would answer its own loopback) or from a pod (hairpin and
 *     pod-to-host-port: the answer must come back through the node to be un-DNAT'ed).</li>
 * <li>prerouting (dstnat) and output (-100, the same priority for locally generated packets): for
 *     packets to a local address, jump to hostports, so host ports work from outside and from the node.</li>
 * <li>hostports: one DNAT per mapping and pod address family.</li>
 * </ul>
 */
final class NftFirewall implements Firewall {
    private final Path nft;
    private final String table;

    NftFirewall(Path nft, String table) {
        this.nft = nft;
        this.table = table;
    }

    @Override
    public String describe() {
        return "nftables table inet " + table;
    }

    @Override
    public void sync(State desired) {
        String script = render(desired);
        Exec.Result r = Exec.run(List.of(nft.toString(), "-f", "-"), null, script, 30);
        if (r.exit() != 0) {
            throw new NetworkException("nft -f - (" + describe() + "): exit " + r.exit() + ": " + r.stderr().strip());
        }
    }

    String render(State s) {
        var out = new StringBuilder();
        out.append("table inet ").append(table).append(" {}\n");
        out.append("delete table inet ").append(table).append('\n');
        if (s.isEmpty()) {
            return out.toString();
        }
        String br = quote(s.bridge());
        out.append("table inet ").append(table).append(" {\n");
        out.append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
        for (Cidr c : s.cidrs()) {
            String ip = c.isV6() ? "ip6" : "ip";
            out.append("    ").append(ip).append(" saddr ").append(c).append(" oifname != ").append(br).append(" masquerade\n");
            out.append("    ct status dnat oifname ").append(br).append(' ').append(ip).append(" saddr ").append(c).append(" masquerade\n");
        }
        out.append("    ct status dnat oifname ").append(br).append(" ip saddr 127.0.0.0/8 masquerade\n");
        out.append("  }\n");
        out.append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
                + "    fib daddr type local jump hostports\n  }\n");
        out.append("  chain output {\n    type nat hook output priority -100; policy accept;\n"
                + "    fib daddr type local jump hostports\n  }\n");
        out.append("  chain hostports {\n");
        for (HostPort hp : s.ports()) {
            PortMapping m = hp.mapping();
            boolean v6 = hp.podIp() instanceof Inet6Address;
            String ip = v6 ? "ip6" : "ip";
            out.append("    ");
            if (m.hostIp() != null) {
                out.append(ip).append(" daddr ").append(m.hostIp().getHostAddress()).append(' ');
            } else {
                out.append("meta nfproto ").append(v6 ? "ipv6 " : "ipv4 ");
            }
            out.append(m.protocol().lower()).append(" dport ").append(m.hostPort())
                    .append(" dnat ").append(ip).append(" to ")
                    .append(v6 ? "[" + hp.podIp().getHostAddress() + "]" : hp.podIp().getHostAddress())
                    .append(':').append(m.containerPort())
                    .append(" comment ").append(quote("pod " + hp.pod().id())).append('\n');
        }
        out.append("  }\n}\n");
        return out.toString();
    }

    private static String quote(String s) {
        return "\"" + s.replace("\"", "") + "\"";
    }
}
