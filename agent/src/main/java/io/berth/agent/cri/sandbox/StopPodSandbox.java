package io.berth.agent.cri.sandbox;

import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.cri.v1.StopPodSandboxRequest;
import io.berth.cri.v1.StopPodSandboxResponse;

/** CRI StopPodSandbox: kills the pod's containers, releases its network. Idempotent. */
public final class StopPodSandbox implements Handler<StopPodSandboxRequest, StopPodSandboxResponse> {
    private final PodManager pods;

    public StopPodSandbox(PodManager pods) {
        this.pods = pods;
    }

    @Override
    public StopPodSandboxResponse handle(StopPodSandboxRequest request) {
        pods.stop(request.getPodSandboxId());
        return StopPodSandboxResponse.getDefaultInstance();
    }
}
