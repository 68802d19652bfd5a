package io.berth.agent.cri.container;

import io.berth.agent.cri.ListStream;
import io.berth.cri.v1.StreamContainersRequest;
import io.berth.cri.v1.StreamContainersResponse;
import io.grpc.stub.StreamObserver;

/** CRI StreamContainers: ListContainers' containers and filter, sent in lists ({@link ListStream}). */
public final class StreamContainers {
    private final ListContainers list;

    public StreamContainers(ListContainers list) {
        this.list = list;
    }

    public void handle(StreamContainersRequest request, StreamObserver<StreamContainersResponse> response) {
        ListStream.send(list.items(request.getFilter()),
                batch -> StreamContainersResponse.newBuilder().addAllContainers(batch).build(), response);
    }
}
