package io.berth.agent.cri.stats;

import io.berth.agent.cri.ListStream;
import io.berth.cri.v1.StreamPodSandboxStatsRequest;
import io.berth.cri.v1.StreamPodSandboxStatsResponse;
import io.grpc.stub.StreamObserver;

/** CRI StreamPodSandboxStats: ListPodSandboxStats' stats and filter, sent in lists ({@link ListStream}). */
public final class StreamPodSandboxStats {
    private final ListPodSandboxStats list;

    public StreamPodSandboxStats(ListPodSandboxStats list) {
        this.list = list;
    }

    public void handle(StreamPodSandboxStatsRequest request, StreamObserver<StreamPodSandboxStatsResponse> response) {
        ListStream.send(list.items(request.getFilter()),
                batch -> StreamPodSandboxStatsResponse.newBuilder().addAllPodSandboxStats(batch).build(), response);
    }
}
