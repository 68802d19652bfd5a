package io.berth.agent.cri.stats;

import io.berth.agent.cri.Handler;
import io.berth.cri.v1.ListMetricDescriptorsRequest;
import io.berth.cri.v1.ListMetricDescriptorsResponse;

/** CRI ListMetricDescriptors: a static list ("should be static at startup"), see {@link PodMetrics}. */
public final class ListMetricDescriptors implements Handler<ListMetricDescriptorsRequest, ListMetricDescriptorsResponse> {
    private static final ListMetricDescriptorsResponse RESPONSE = ListMetricDescriptorsResponse.newBuilder()
            .addAllDescriptors(PodMetrics.ALL.stream().map(PodMetrics.Def::descriptor).toList())
            .build();

    @Override
    public ListMetricDescriptorsResponse handle(ListMetricDescriptorsRequest request) {
        return RESPONSE;
    }
}
