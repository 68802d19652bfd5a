package io.berth.agent.cri.stats;

import io.berth.agent.cri.ListStream;
import io.berth.cri.v1.StreamPodSandboxMetricsRequest;
import io.berth.cri.v1.StreamPodSandboxMetricsResponse;
import io.grpc.stub.StreamObserver;

/** CRI StreamPodSandboxMetrics: ListPodSandboxMetrics' pods, sent in lists ({@link ListStream}). */
public final class StreamPodSandboxMetrics {
    private final ListPodSandboxMetrics list;

    public StreamPodSandboxMetrics(ListPodSandboxMetrics list) {
        this.list = list;
    }

    public void handle(StreamPodSandboxMetricsRequest request, StreamObserver<StreamPodSandboxMetricsResponse> response) {
        ListStream.send(list.items(),
                batch -> StreamPodSandboxMetricsResponse.newBuilder().addAllPodSandboxMetrics(batch).build(), response);
    }
}
