package io.berth.agent.cri.sandbox;

import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodLimits;
import io.berth.agent.pod.PodManager;
import io.berth.cri.v1.LinuxContainerResources;
import io.berth.cri.v1.UpdatePodSandboxResourcesRequest;
import io.berth.cri.v1.UpdatePodSandboxResourcesResponse;
import java.util.LinkedHashMap;

/**
 * CRI UpdatePodSandboxResources (in-place pod resize): the pod cgroup gets {@code resources}, "the
 * sum of container resources for this sandbox", plus {@code overhead}; either may be absent.
 */
public final class UpdatePodSandboxResources
        implements Handler<UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse> {
    private final PodManager pods;

    public UpdatePodSandboxResources(PodManager pods) {
        this.pods = pods;
    }

    @Override
    public UpdatePodSandboxResourcesResponse handle(UpdatePodSandboxResourcesRequest request) {
        pods.updateResources(request.getPodSandboxId(),
                request.hasResources() ? limits(request.getResources()) : PodLimits.NONE,
                request.hasOverhead() ? limits(request.getOverhead()) : PodLimits.NONE);
        return UpdatePodSandboxResourcesResponse.getDefaultInstance();
    }

    static PodLimits limits(LinuxContainerResources r) {
        var hugepages = new LinkedHashMap<String, Long>();
        r.getHugepageLimitsList().forEach(h -> hugepages.put(h.getPageSize(), h.getLimit()));
        return new PodLimits(r.getCpuShares(), r.getCpuQuota(), r.getCpuPeriod(), r.getCpusetCpus(), r.getCpusetMems(),
                r.getMemoryLimitInBytes(), hugepages, r.getUnifiedMap());
    }
}
