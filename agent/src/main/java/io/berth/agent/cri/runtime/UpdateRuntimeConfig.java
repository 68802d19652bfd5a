package io.berth.agent.cri.runtime;

import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodNetwork;
import io.berth.cri.v1.UpdateRuntimeConfigRequest;
import io.berth.cri.v1.UpdateRuntimeConfigResponse;

/** CRI UpdateRuntimeConfig: kubelet hands over the node's pod CIDR, which new pods then draw from. */
public final class UpdateRuntimeConfig implements Handler<UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse> {
    private final PodNetwork network;

    public UpdateRuntimeConfig(PodNetwork network) {
        this.network = network;
    }

    @Override
    public UpdateRuntimeConfigResponse handle(UpdateRuntimeConfigRequest request) {
        String cidr = request.getRuntimeConfig().getNetworkConfig().getPodCidr();
        if (!cidr.isEmpty()) {
            network.updatePodCidr(cidr);
        }
        return UpdateRuntimeConfigResponse.getDefaultInstance();
    }
}
