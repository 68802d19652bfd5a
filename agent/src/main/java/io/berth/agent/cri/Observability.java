package io.berth.agent.cri;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.events.GetContainerEvents;
import io.berth.agent.cri.stats.ContainerStats;
import io.berth.agent.cri.stats.ListContainerStats;
import io.berth.agent.cri.stats.ListMetricDescriptors;
import io.berth.agent.cri.stats.ListPodSandboxMetrics;
import io.berth.agent.cri.stats.ListPodSandboxStats;
import io.berth.agent.cri.stats.PodSandboxStats;
import io.berth.agent.cri.stats.StreamContainerStats;
import io.berth.agent.cri.stats.StreamPodSandboxMetrics;
import io.berth.agent.cri.stats.StreamPodSandboxStats;
import io.berth.agent.events.ContainerEvents;
import io.berth.agent.pod.PodManager;
import io.berth.agent.stats.StatsService;

/** The RuntimeService handlers that observe rather than change: stats, metrics, events. */
public record Observability(
        ContainerStats containerStats,
        ListContainerStats listContainerStats,
        PodSandboxStats podSandboxStats,
        ListPodSandboxStats listPodSandboxStats,
        ListMetricDescriptors listMetricDescriptors,
        ListPodSandboxMetrics listPodSandboxMetrics,
        StreamContainerStats streamContainerStats,
        StreamPodSandboxStats streamPodSandboxStats,
        StreamPodSandboxMetrics streamPodSandboxMetrics,
        GetContainerEvents getContainerEvents) {

    public static Observability of(PodManager pods, ContainerManager containers, StatsService stats,
            ContainerEvents events) {
        var listContainerStats = new ListContainerStats(containers, pods, stats);
        var listPodSandboxStats = new ListPodSandboxStats(containers, pods, stats);
        var listPodSandboxMetrics = new ListPodSandboxMetrics(containers, pods, stats);
        return new Observability(
                new ContainerStats(containers, pods, stats),
                listContainerStats,
                new PodSandboxStats(containers, pods, stats),
                listPodSandboxStats,
                new ListMetricDescriptors(),
                listPodSandboxMetrics,
                new StreamContainerStats(listContainerStats),
                new StreamPodSandboxStats(listPodSandboxStats),
                new StreamPodSandboxMetrics(listPodSandboxMetrics),
                new GetContainerEvents(events, pods, containers, ContainerEvents.DEFAULT_CAPACITY));
    }
}
