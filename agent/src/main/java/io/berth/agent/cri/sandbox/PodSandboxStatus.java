package io.berth.agent.cri.sandbox;

import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.cri.v1.PodSandboxStatusRequest;
import io.berth.cri.v1.PodSandboxStatusResponse;

/** CRI PodSandboxStatus; {@code verbose} adds the pod's runtime paths under "info". */
public final class PodSandboxStatus implements Handler<PodSandboxStatusRequest, PodSandboxStatusResponse> {
    private final PodManager pods;

    public PodSandboxStatus(PodManager pods) {
        this.pods = pods;
    }

    @Override
    public PodSandboxStatusResponse handle(PodSandboxStatusRequest request) {
        Sandbox s = pods.get(request.getPodSandboxId());
        var response = PodSandboxStatusResponse.newBuilder()
                .setStatus(SandboxMapping.toStatus(s))
                .setTimestamp(System.currentTimeMillis() * 1_000_000L);
        if (request.getVerbose()) {
            response.putInfo("info", io.berth.agent.util.Json.object("pod_dir", s.podDir(), "namespace_pins", s.pinsDir(),
                    "cgroup_parent", s.cgroupParent(), "hostname", s.hostname()));
        }
        return response.build();
    }
}
