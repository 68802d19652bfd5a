package io.berth.agent.cri.sandbox;

import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.cri.v1.RunPodSandboxRequest;
import io.berth.cri.v1.RunPodSandboxResponse;

/** CRI RunPodSandbox: pins the pod's namespaces, makes its cgroup, connects its network. */
public final class RunPodSandbox implements Handler<RunPodSandboxRequest, RunPodSandboxResponse> {
    private final PodManager pods;

    public RunPodSandbox(PodManager pods) {
        this.pods = pods;
    }

    @Override
    public RunPodSandboxResponse handle(RunPodSandboxRequest request) {
        var sandbox = pods.run(SandboxMapping.toRequest(request.getConfig(), request.getRuntimeHandler()));
        return RunPodSandboxResponse.newBuilder().setPodSandboxId(sandbox.id()).build();
    }
}
