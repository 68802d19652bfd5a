package io.berth.agent.cri.streaming;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.agent.streaming.StreamRequest;
import io.berth.agent.streaming.StreamTargets;
import io.berth.agent.streaming.StreamingServer;
import io.berth.cri.v1.PortForwardRequest;
import io.berth.cri.v1.PortForwardResponse;

/**
 * CRI PortForward: a single-use URL on the streaming server for ports of the pod. kubelet sends
 * the ports it knows (WebSocket clients need them; SPDY clients name a port per stream), so an
 * empty list is fine.
 */
public final class PortForward implements Handler<PortForwardRequest, PortForwardResponse> {
    private final StreamingServer server;
    private final StreamTargets targets;

    public PortForward(StreamingServer server, StreamTargets targets) {
        this.server = server;
        this.targets = targets;
    }

    @Override
    public PortForwardResponse handle(PortForwardRequest r) {
        if (r.getPodSandboxId().isEmpty()) throw BerthException.invalid("port forward: missing required pod_sandbox_id");
        for (int port : r.getPortList()) {
            if (port < 1 || port > 65535) {
                throw BerthException.invalid("port forward to pod " + r.getPodSandboxId() + ": port " + port
                        + " is not 1-65535");
            }
        }
        var request = new StreamRequest.PortForward(r.getPodSandboxId(), r.getPortList());
        targets.check(request);
        return PortForwardResponse.newBuilder().setUrl(server.url(request)).build();
    }
}
