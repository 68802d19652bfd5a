package io.berth.agent.cri.runtime;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.RuntimeInfo;
import io.berth.cri.v1.VersionRequest;
import io.berth.cri.v1.VersionResponse;

/** CRI Version: kubelet's start-up handshake. */
public final class Version implements Handler<VersionRequest, VersionResponse> {
    /** The version of the kubelet runtime API; every runtime answers "0.1.0" (cri-api api.proto). */
    static final String KUBELET_API_VERSION = "0.1.0";

    private final String runtimeVersion = RuntimeInfo.version();

    @Override
    public VersionResponse handle(VersionRequest request) {
        return VersionResponse.newBuilder()
                .setVersion(KUBELET_API_VERSION)
                .setRuntimeName(RuntimeInfo.NAME)
                .setRuntimeVersion(runtimeVersion)
                .setRuntimeApiVersion(RuntimeInfo.CRI_API_VERSION)
                .build();
    }
}
