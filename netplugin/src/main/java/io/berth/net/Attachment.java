package io.berth.net;

import java.net.InetAddress;
import java.util.List;

/** What {@link PodNetwork#setUp} gave the pod: its IPs (IPv4 first, as CRI PodSandboxStatus wants) and its interface. */
public record Attachment(List<InetAddress> ips, String interfaceName) {
    public Attachment {
        ips = List.copyOf(ips);
    }
}
