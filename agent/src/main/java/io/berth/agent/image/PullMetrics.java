package io.berth.agent.image;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import io.prometheus.client.Histogram;

/** Prometheus metrics of image pulls: outcomes, durations, bytes, and per-pull progress. */
public final class PullMetrics {
    final Counter pulls;
    final Histogram duration;
    final Counter bytes;
    final Gauge inProgress;
    final Gauge progressBytes;
    final Gauge expectedBytes;
    final Counter layersReused;
    final Counter decompressCpu;

    public PullMetrics(CollectorRegistry registry) {
        pulls = Counter.build().name("berth_image_pulls_total")
                .help("Image pulls finished, by result: pulled, present (nothing to download), shared (joined a "
                        + "pull of the same image in flight), failed.")
                .labelNames("result").register(registry);
        duration = Histogram.build().name("berth_image_pull_duration_seconds")
                .help("Time to pull an image, from request to image recorded.")
                .buckets(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
                .register(registry);
        bytes = Counter.build().name("berth_image_pull_bytes_total")
                .help("Compressed layer bytes downloaded from registries.").register(registry);
        inProgress = Gauge.build().name("berth_image_pulls_in_progress")
                .help("Image pulls currently downloading.").register(registry);
        progressBytes = Gauge.build().name("berth_image_pull_progress_bytes")
                .help("Bytes downloaded so far by each pull in flight.").labelNames("image").register(registry);
        expectedBytes = Gauge.build().name("berth_image_pull_expected_bytes")
                .help("Bytes each pull in flight has to download in all.").labelNames("image").register(registry);
        layersReused = Counter.build().name("berth_image_layers_reused_total")
                .help("Layers a pull found already unpacked (shared by chain id), so not downloaded.")
                .register(registry);
        decompressCpu = Counter.build().name("berth_image_decompress_cpu_seconds_total")
                .help("CPU time pulls spent decompressing layers (gzip through ISA-L, zstd): the floor of an "
                        + "unpack, to compare with the agent's whole CPU (process_cpu_seconds_total).")
                .register(registry);
    }

    /** Metrics that go nowhere, for tools (berth images import) that have no /metrics endpoint. */
    public static PullMetrics unregistered() {
        return new PullMetrics(new CollectorRegistry());
    }
}
