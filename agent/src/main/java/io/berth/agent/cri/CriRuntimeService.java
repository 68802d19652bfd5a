package io.berth.agent.cri;

import io.berth.agent.cri.runtime.RuntimeConfig;
import io.berth.agent.cri.runtime.Status;
import io.berth.agent.cri.runtime.Version;
import io.berth.cri.v1.RuntimeConfigRequest;
import io.berth.cri.v1.RuntimeConfigResponse;
import io.berth.cri.v1.RuntimeServiceGrpc;
import io.berth.cri.v1.StatusRequest;
import io.berth.cri.v1.StatusResponse;
import io.berth.cri.v1.VersionRequest;
import io.berth.cri.v1.VersionResponse;
import io.grpc.stub.StreamObserver;

/**
 * The CRI RuntimeService: each RPC goes to its own handler class. RPCs not built yet fall through
 * to grpc-java's default, UNIMPLEMENTED naming the method; never a fake success.
 */
public final class CriRuntimeService extends RuntimeServiceGrpc.RuntimeServiceImplBase {
    private final Version version;
    private final Status status;
    private final RuntimeConfig runtimeConfig;

    public CriRuntimeService(Version version, Status status, RuntimeConfig runtimeConfig) {
        this.version = version;
        this.status = status;
        this.runtimeConfig = runtimeConfig;
    }

    @Override
    public void version(VersionRequest request, StreamObserver<VersionResponse> response) {
        Unary.call(version, request, response);
    }

    @Override
    public void status(StatusRequest request, StreamObserver<StatusResponse> response) {
        Unary.call(status, request, response);
    }

    @Override
    public void runtimeConfig(RuntimeConfigRequest request, StreamObserver<RuntimeConfigResponse> response) {
        Unary.call(runtimeConfig, request, response);
    }
}
