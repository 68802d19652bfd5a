package io.berth.agent.cri;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.container.CheckpointContainer;
import io.berth.agent.cri.container.ContainerStatus;
import io.berth.agent.cri.container.CreateContainer;
import io.berth.agent.cri.container.ExecSync;
import io.berth.agent.cri.container.ListContainers;
import io.berth.agent.cri.container.RemoveContainer;
import io.berth.agent.cri.container.ReopenContainerLog;
import io.berth.agent.cri.container.StartContainer;
import io.berth.agent.cri.container.StopContainer;
import io.berth.agent.cri.container.StreamContainers;
import io.berth.agent.cri.container.UpdateContainerResources;
import io.berth.agent.cri.runtime.RuntimeConfig;
import io.berth.agent.cri.runtime.Status;
import io.berth.agent.cri.runtime.UpdateRuntimeConfig;
import io.berth.agent.cri.runtime.Version;
import io.berth.agent.cri.sandbox.ListPodSandbox;
import io.berth.agent.cri.sandbox.PodSandboxStatus;
import io.berth.agent.cri.sandbox.RemovePodSandbox;
import io.berth.agent.cri.sandbox.RunPodSandbox;
import io.berth.agent.cri.sandbox.StopPodSandbox;
import io.berth.agent.cri.sandbox.StreamPodSandboxes;
import io.berth.agent.cri.sandbox.UpdatePodSandboxResources;
import io.berth.agent.cri.streaming.Attach;
import io.berth.agent.cri.streaming.Exec;
import io.berth.agent.cri.streaming.PortForward;
import io.berth.agent.pod.PodManager;
import io.berth.agent.streaming.StreamTargets;
import io.berth.agent.streaming.StreamingServer;
import io.berth.cri.v1.*;
import io.grpc.stub.StreamObserver;

/**
 * The CRI RuntimeService: each RPC goes to its own handler class. An RPC berth cannot carry out
 * (CheckpointContainer) answers UNIMPLEMENTED with the reason; never a fake success.
 */
public final class CriRuntimeService extends RuntimeServiceGrpc.RuntimeServiceImplBase {
    private final Version version;
    private final Status status;
    private final RuntimeConfig runtimeConfig;
    private final UpdateRuntimeConfig updateRuntimeConfig;
    private final RunPodSandbox runPodSandbox;
    private final StopPodSandbox stopPodSandbox;
    private final RemovePodSandbox removePodSandbox;
    private final PodSandboxStatus podSandboxStatus;
    private final ListPodSandbox listPodSandbox;
    private final StreamPodSandboxes streamPodSandboxes;
    private final UpdatePodSandboxResources updatePodSandboxResources;
    private final CreateContainer createContainer;
    private final StartContainer startContainer;
    private final StopContainer stopContainer;
    private final RemoveContainer removeContainer;
    private final ListContainers listContainers;
    private final StreamContainers streamContainers;
    private final CheckpointContainer checkpointContainer;
    private final ContainerStatus containerStatus;
    private final UpdateContainerResources updateContainerResources;
    private final ReopenContainerLog reopenContainerLog;
    private final ExecSync execSync;
    private final Exec exec;
    private final Attach attach;
    private final PortForward portForward;
    private final Observability observability;

    public CriRuntimeService(Version version, Status status, RuntimeConfig runtimeConfig, PodManager pods,
            ContainerManager containers, StreamingServer streaming, StreamTargets streamTargets,
            Observability observability) {
        this.version = version;
        this.status = status;
        this.runtimeConfig = runtimeConfig;
        this.updateRuntimeConfig = new UpdateRuntimeConfig(pods.network());
        this.runPodSandbox = new RunPodSandbox(pods);
        this.stopPodSandbox = new StopPodSandbox(pods);
        this.removePodSandbox = new RemovePodSandbox(pods);
        this.podSandboxStatus = new PodSandboxStatus(pods);
        this.listPodSandbox = new ListPodSandbox(pods);
        this.streamPodSandboxes = new StreamPodSandboxes(listPodSandbox);
        this.updatePodSandboxResources = new UpdatePodSandboxResources(pods);
        this.createContainer = new CreateContainer(containers);
        this.startContainer = new StartContainer(containers);
        this.stopContainer = new StopContainer(containers);
        this.removeContainer = new RemoveContainer(containers);
        this.listContainers = new ListContainers(containers);
        this.streamContainers = new StreamContainers(listContainers);
        this.checkpointContainer = new CheckpointContainer();
        this.containerStatus = new ContainerStatus(containers);
        this.updateContainerResources = new UpdateContainerResources(containers);
        this.reopenContainerLog = new ReopenContainerLog(containers);
        this.execSync = new ExecSync(containers);
        this.exec = new Exec(streaming, streamTargets);
        this.attach = new Attach(streaming, streamTargets);
        this.portForward = new PortForward(streaming, streamTargets);
        this.observability = observability;
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

    @Override
    public void updateRuntimeConfig(UpdateRuntimeConfigRequest request,
            StreamObserver<UpdateRuntimeConfigResponse> response) {
        Unary.call(updateRuntimeConfig, request, response);
    }

    @Override
    public void runPodSandbox(RunPodSandboxRequest request, StreamObserver<RunPodSandboxResponse> response) {
        Unary.call(runPodSandbox, request, response);
    }

    @Override
    public void stopPodSandbox(StopPodSandboxRequest request, StreamObserver<StopPodSandboxResponse> response) {
        Unary.call(stopPodSandbox, request, response);
    }

    @Override
    public void removePodSandbox(RemovePodSandboxRequest request, StreamObserver<RemovePodSandboxResponse> response) {
        Unary.call(removePodSandbox, request, response);
    }

    @Override
    public void podSandboxStatus(PodSandboxStatusRequest request, StreamObserver<PodSandboxStatusResponse> response) {
        Unary.call(podSandboxStatus, request, response);
    }

    @Override
    public void listPodSandbox(ListPodSandboxRequest request, StreamObserver<ListPodSandboxResponse> response) {
        Unary.call(listPodSandbox, request, response);
    }

    @Override
    public void streamPodSandboxes(StreamPodSandboxesRequest request,
            StreamObserver<StreamPodSandboxesResponse> response) {
        streamPodSandboxes.handle(request, response);
    }

    @Override
    public void updatePodSandboxResources(UpdatePodSandboxResourcesRequest request,
            StreamObserver<UpdatePodSandboxResourcesResponse> response) {
        Unary.call(updatePodSandboxResources, request, response);
    }

    @Override
    public void createContainer(CreateContainerRequest request, StreamObserver<CreateContainerResponse> response) {
        Unary.call(createContainer, request, response);
    }

    @Override
    public void startContainer(StartContainerRequest request, StreamObserver<StartContainerResponse> response) {
        Unary.call(startContainer, request, response);
    }

    @Override
    public void stopContainer(StopContainerRequest request, StreamObserver<StopContainerResponse> response) {
        Unary.call(stopContainer, request, response);
    }

    @Override
    public void removeContainer(RemoveContainerRequest request, StreamObserver<RemoveContainerResponse> response) {
        Unary.call(removeContainer, request, response);
    }

    @Override
    public void listContainers(ListContainersRequest request, StreamObserver<ListContainersResponse> response) {
        Unary.call(listContainers, request, response);
    }

    @Override
    public void streamContainers(StreamContainersRequest request, StreamObserver<StreamContainersResponse> response) {
        streamContainers.handle(request, response);
    }

    @Override
    public void checkpointContainer(CheckpointContainerRequest request,
            StreamObserver<CheckpointContainerResponse> response) {
        Unary.call(checkpointContainer, request, response);
    }

    @Override
    public void containerStatus(ContainerStatusRequest request, StreamObserver<ContainerStatusResponse> response) {
        Unary.call(containerStatus, request, response);
    }

    @Override
    public void updateContainerResources(UpdateContainerResourcesRequest request,
            StreamObserver<UpdateContainerResourcesResponse> response) {
        Unary.call(updateContainerResources, request, response);
    }

    @Override
    public void reopenContainerLog(ReopenContainerLogRequest request,
            StreamObserver<ReopenContainerLogResponse> response) {
        Unary.call(reopenContainerLog, request, response);
    }

    @Override
    public void execSync(ExecSyncRequest request, StreamObserver<ExecSyncResponse> response) {
        Unary.call(execSync, request, response);
    }

    @Override
    public void exec(ExecRequest request, StreamObserver<ExecResponse> response) {
        Unary.call(exec, request, response);
    }

    @Override
    public void attach(AttachRequest request, StreamObserver<AttachResponse> response) {
        Unary.call(attach, request, response);
    }

    @Override
    public void portForward(PortForwardRequest request, StreamObserver<PortForwardResponse> response) {
        Unary.call(portForward, request, response);
    }

    @Override
    public void containerStats(ContainerStatsRequest request, StreamObserver<ContainerStatsResponse> response) {
        Unary.call(observability.containerStats(), request, response);
    }

    @Override
    public void listContainerStats(ListContainerStatsRequest request,
            StreamObserver<ListContainerStatsResponse> response) {
        Unary.call(observability.listContainerStats(), request, response);
    }

    @Override
    public void streamContainerStats(StreamContainerStatsRequest request,
            StreamObserver<StreamContainerStatsResponse> response) {
        observability.streamContainerStats().handle(request, response);
    }

    @Override
    public void podSandboxStats(PodSandboxStatsRequest request, StreamObserver<PodSandboxStatsResponse> response) {
        Unary.call(observability.podSandboxStats(), request, response);
    }

    @Override
    public void listPodSandboxStats(ListPodSandboxStatsRequest request,
            StreamObserver<ListPodSandboxStatsResponse> response) {
        Unary.call(observability.listPodSandboxStats(), request, response);
    }

    @Override
    public void streamPodSandboxStats(StreamPodSandboxStatsRequest request,
            StreamObserver<StreamPodSandboxStatsResponse> response) {
        observability.streamPodSandboxStats().handle(request, response);
    }

    @Override
    public void listMetricDescriptors(ListMetricDescriptorsRequest request,
            StreamObserver<ListMetricDescriptorsResponse> response) {
        Unary.call(observability.listMetricDescriptors(), request, response);
    }

    @Override
    public void listPodSandboxMetrics(ListPodSandboxMetricsRequest request,
            StreamObserver<ListPodSandboxMetricsResponse> response) {
        Unary.call(observability.listPodSandboxMetrics(), request, response);
    }

    @Override
    public void streamPodSandboxMetrics(StreamPodSandboxMetricsRequest request,
            StreamObserver<StreamPodSandboxMetricsResponse> response) {
        observability.streamPodSandboxMetrics().handle(request, response);
    }

    @Override
    public void getContainerEvents(GetEventsRequest request, StreamObserver<ContainerEventResponse> response) {
        observability.getContainerEvents().stream(request, response);
    }
}
