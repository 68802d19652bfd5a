package io.berth.agent.cri.sandbox;

import io.berth.agent.domain.BerthException;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.pod.Sandbox.NamespaceModes;
import io.berth.agent.pod.SandboxRequest;
import io.berth.cri.v1.LinuxPodSandboxStatus;
import io.berth.cri.v1.Namespace;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.NamespaceOption;
import io.berth.cri.v1.PodIP;
import io.berth.cri.v1.PodSandbox;
import io.berth.cri.v1.PodSandboxConfig;
import io.berth.cri.v1.PodSandboxMetadata;
import io.berth.cri.v1.PodSandboxNetworkStatus;
import io.berth.cri.v1.PodSandboxState;
import io.berth.cri.v1.PodSandboxStatus;
import io.berth.cri.v1.PortMapping;
import io.berth.cri.v1.Protocol;
import java.util.List;

/** CRI sandbox messages ↔ the agent's sandbox records: the only place that knows both. */
public final class SandboxMapping {
    private SandboxMapping() {
    }

    static SandboxRequest toRequest(PodSandboxConfig c, String runtimeHandler) {
        if (!c.hasMetadata()) {
            throw BerthException.invalid("PodSandboxConfig.metadata is required");
        }
        var m = c.getMetadata();
        var security = c.getLinux().getSecurityContext();
        var ns = security.getNamespaceOptions();
        if (ns.getNetwork() == NamespaceMode.TARGET || ns.getIpc() == NamespaceMode.TARGET) {
            throw BerthException.invalid("namespace mode TARGET applies to a container's PID namespace only");
        }
        if (ns.hasUsernsOptions() && ns.getUsernsOptions().getMode() == NamespaceMode.POD) {
            // A user namespace cannot be entered from the multi-threaded JVM (DESIGN.md).
            throw BerthException.invalid("user namespaces (hostUsers: false) are not supported by berth yet");
        }
        return new SandboxRequest(
                new Sandbox.PodMeta(m.getName(), m.getUid(), m.getNamespace(), m.getAttempt()),
                c.getHostname(),
                c.getLogDirectory(),
                new Sandbox.Dns(c.getDnsConfig().getServersList(), c.getDnsConfig().getSearchesList(),
                        c.getDnsConfig().getOptionsList()),
                c.getPortMappingsList().stream().map(SandboxMapping::port).toList(),
                c.getLabelsMap(),
                c.getAnnotationsMap(),
                c.getLinux().getCgroupParent(),
                new NamespaceModes(mode(ns.getNetwork()), mode(ns.getPid()), mode(ns.getIpc())),
                security.getPrivileged(),
                runtimeHandler);
    }

    private static Sandbox.PortMapping port(PortMapping p) {
        String protocol = switch (p.getProtocol()) {
            case TCP -> "tcp";
            case UDP -> "udp";
            case SCTP -> "sctp";
            case UNRECOGNIZED -> throw BerthException.invalid("port mapping " + p.getContainerPort() + " has an unknown protocol");
        };
        return new Sandbox.PortMapping(protocol, p.getContainerPort(), p.getHostPort(), p.getHostIp());
    }

    static NamespaceModes.Mode mode(NamespaceMode m) {
        return switch (m) {
            case POD -> NamespaceModes.Mode.POD;
            case CONTAINER -> NamespaceModes.Mode.CONTAINER;
            case NODE -> NamespaceModes.Mode.NODE;
            case TARGET -> NamespaceModes.Mode.TARGET;
            case UNRECOGNIZED -> throw BerthException.invalid("unknown namespace mode " + m);
        };
    }

    static NamespaceMode mode(NamespaceModes.Mode m) {
        return NamespaceMode.valueOf(m.name());
    }

    static PodSandboxState state(Sandbox.State s) {
        return s == Sandbox.State.READY ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
    }

    static PodSandboxMetadata metadata(Sandbox s) {
        return PodSandboxMetadata.newBuilder().setName(s.meta().name()).setUid(s.meta().uid())
                .setNamespace(s.meta().namespace()).setAttempt(s.meta().attempt()).build();
    }

    static PodSandbox toListItem(Sandbox s) {
        return PodSandbox.newBuilder()
                .setId(s.id())
                .setMetadata(metadata(s))
                .setState(state(s.state()))
                .setCreatedAt(s.createdAt())
                .putAllLabels(s.labels())
                .putAllAnnotations(s.annotations())
                .setRuntimeHandler(s.runtimeHandler())
                .build();
    }

    public static PodSandboxStatus toStatus(Sandbox s) {
        var network = PodSandboxNetworkStatus.newBuilder();
        List<String> ips = s.ips();
        if (!ips.isEmpty()) {
            network.setIp(ips.getFirst());
            ips.stream().skip(1).forEach(ip -> network.addAdditionalIps(PodIP.newBuilder().setIp(ip)));
        }
        var ns = s.namespaces();
        return PodSandboxStatus.newBuilder()
                .setId(s.id())
                .setMetadata(metadata(s))
                .setState(state(s.state()))
                .setCreatedAt(s.createdAt())
                .setNetwork(network)
                .setLinux(LinuxPodSandboxStatus.newBuilder().setNamespaces(Namespace.newBuilder()
                        .setOptions(NamespaceOption.newBuilder()
                                .setNetwork(mode(ns.network())).setPid(mode(ns.pid())).setIpc(mode(ns.ipc())))))
                .putAllLabels(s.labels())
                .putAllAnnotations(s.annotations())
                .setRuntimeHandler(s.runtimeHandler())
                .build();
    }
}
