package io.berth.agent.cri.sandbox;

import io.berth.agent.cri.ListStream;
import io.berth.cri.v1.StreamPodSandboxesRequest;
import io.berth.cri.v1.StreamPodSandboxesResponse;
import io.grpc.stub.StreamObserver;

/** CRI StreamPodSandboxes: ListPodSandbox's pods and filter, sent in lists ({@link ListStream}). */
public final class StreamPodSandboxes {
    private final ListPodSandbox list;

    public StreamPodSandboxes(ListPodSandbox list) {
        this.list = list;
    }

    public void handle(StreamPodSandboxesRequest request, StreamObserver<StreamPodSandboxesResponse> response) {
        ListStream.send(list.items(request.getFilter()),
                batch -> StreamPodSandboxesResponse.newBuilder().addAllPodSandboxes(batch).build(), response);
    }
}
