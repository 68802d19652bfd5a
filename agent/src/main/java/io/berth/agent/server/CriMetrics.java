package io.berth.agent.server;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Histogram;

/** Per-method, per-status-code counts and latencies of every CRI call. */
public final class CriMetrics {
    private final Counter requests;
    private final Histogram latency;

    public CriMetrics(CollectorRegistry registry) {
        requests = Counter.build()
                .name("berth_cri_requests_total")
                .help("CRI calls answered, by service, method and gRPC status code.")
                .labelNames("service", "method", "code")
                .register(registry);
        latency = Histogram.build()
                .name("berth_cri_request_duration_seconds")
                .help("Time to answer a CRI call, by service, method and gRPC status code.")
                .labelNames("service", "method", "code")
                // CRI calls range from sub-millisecond lookups to multi-second pulls and stops.
                .buckets(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
                .register(registry);
    }

    void observe(String service, String method, String code, long nanos) {
        requests.labels(service, method, code).inc();
        latency.labels(service, method, code).observe(nanos / 1e9);
    }
}
