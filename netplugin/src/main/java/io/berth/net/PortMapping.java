package io.berth.net;

import java.net.InetAddress;
import java.util.Locale;

/**
 * A CRI PortMapping: traffic to {@code hostIp:hostPort} (any local address when hostIp is null) with
 * {@code protocol} is forwarded to the pod's {@code containerPort}.
 */
public record PortMapping(Protocol protocol, int containerPort, int hostPort, InetAddress hostIp) {
    public enum Protocol {
        TCP, UDP, SCTP;

        public String lower() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public PortMapping {
        if (containerPort < 1 || containerPort > 65535) {
            throw new IllegalArgumentException("container port " + containerPort + " out of 1..65535");
        }
        if (hostPort < 0 || hostPort > 65535) {
            throw new IllegalArgumentException("host port " + hostPort + " out of 0..65535");
        }
        if (hostIp != null && hostIp.isAnyLocalAddress()) {
            hostIp = null;
        }
    }

    /** CRI: host_port 0 means the port is only declared, not mapped. */
    public boolean mapped() {
        return hostPort != 0;
    }

    /** Whether both ask for the same host port: same protocol and port, and the same or a wildcard address. */
    public boolean clashesWith(PortMapping other) {
        return protocol == other.protocol && hostPort == other.hostPort
                && (hostIp == null || other.hostIp == null || hostIp.equals(other.hostIp));
    }

    /** {@code tcp 0.0.0.0:8080 -> 80} for messages. */
    public String describe() {
        return protocol.lower() + " " + (hostIp == null ? "*" : hostIp.getHostAddress()) + ":" + hostPort + " -> " + containerPort;
    }
}
