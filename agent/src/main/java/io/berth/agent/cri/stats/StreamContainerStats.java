package io.berth.agent.cri.stats;

import io.berth.agent.cri.ListStream;
import io.berth.cri.v1.StreamContainerStatsRequest;
import io.berth.cri.v1.StreamContainerStatsResponse;
import io.grpc.stub.StreamObserver;

/** CRI StreamContainerStats: ListContainerStats' stats and filter, sent in lists ({@link ListStream}). */
public final class StreamContainerStats {
    private final ListContainerStats list;

    public StreamContainerStats(ListContainerStats list) {
        this.list = list;
    }

    public void handle(StreamContainerStatsRequest request, StreamObserver<StreamContainerStatsResponse> response) {
        ListStream.send(list.items(request.getFilter()),
                batch -> StreamContainerStatsResponse.newBuilder().addAllContainerStats(batch).build(), response);
    }
}
