package io.berth.agent.cri.sandbox;

import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.RemovePodSandboxResponse;

/** CRI RemovePodSandbox: removes the pod and all its containers. Idempotent. */
public final class RemovePodSandbox implements Handler<RemovePodSandboxRequest, RemovePodSandboxResponse> {
    private final PodManager pods;

    public RemovePodSandbox(PodManager pods) {
        this.pods = pods;
    }

    @Override
    public RemovePodSandboxResponse handle(RemovePodSandboxRequest request) {
        pods.remove(request.getPodSandboxId());
        return RemovePodSandboxResponse.getDefaultInstance();
    }
}
