package io.berth.agent.host;

import io.berth.agent.domain.BerthException;
import io.berth.agent.pod.PodNetwork;
import io.berth.agent.pod.Sandbox;
import io.berth.net.HostPortConflictException;
import io.berth.net.PodRef;
import io.berth.net.PortMapping;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** The agent's {@link PodNetwork} over netplugin (the built-in bridge network, or CNI plugins). */
public final class NetpluginPodNetwork implements PodNetwork, AutoCloseable {
    private final io.berth.net.PodNetwork network;

    public NetpluginPodNetwork(io.berth.net.PodNetwork network) {
        this.network = network;
    }

    @Override
    public List<String> setUp(Sandbox sandbox, Path netns) {
        try {
            var attachment = network.setUp(ref(sandbox), netns, sandbox.ports().stream().map(NetpluginPodNetwork::port).toList());
            return attachment.ips().stream().map(InetAddress::getHostAddress).toList();
        } catch (HostPortConflictException e) {
            throw new BerthException(BerthException.Kind.ALREADY_EXISTS, e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw BerthException.invalid(e.getMessage());
        }
    }

    @Override
    public void tearDown(Sandbox sandbox, Path netns) {
        network.tearDown(ref(sandbox), netns);
    }

    @Override
    public void reconcile(Set<String> liveSandboxIds) {
        network.reconcile(liveSandboxIds);
    }

    @Override
    public Readiness readiness() {
        var r = network.status();
        return new Readiness(r.ready(), r.reason(), r.message());
    }

    @Override
    public void updatePodCidr(String cidr) {
        try {
            network.updatePodCidrs(Arrays.stream(cidr.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList());
        } catch (IllegalArgumentException e) {
            throw BerthException.invalid("pod_cidr '" + cidr + "': " + e.getMessage());
        }
    }

    @Override
    public void close() {
        network.close();
    }

    private static PodRef ref(Sandbox s) {
        return new PodRef(s.id(), s.meta().name(), s.meta().namespace(), s.meta().uid());
    }

    private static PortMapping port(Sandbox.PortMapping p) {
        InetAddress hostIp = null;
        if (!p.hostIp().isEmpty()) {
            try {
                hostIp = InetAddress.ofLiteral(p.hostIp());
            } catch (IllegalArgumentException e) {
                throw BerthException.invalid("port mapping host_ip '" + p.hostIp() + "' is not an IP address");
            }
        }
        return new PortMapping(PortMapping.Protocol.valueOf(p.protocol().toUpperCase(Locale.ROOT)), p.containerPort(),
                p.hostPort(), hostIp);
    }
}
