package io.berth.agent.cri.sandbox;

import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.cri.v1.ListPodSandboxRequest;
import io.berth.cri.v1.ListPodSandboxResponse;
import io.berth.cri.v1.PodSandbox;
import io.berth.cri.v1.PodSandboxFilter;
import java.util.List;

/** CRI ListPodSandbox with its filter: id (or unique prefix), state, labels (all must match). */
public final class ListPodSandbox implements Handler<ListPodSandboxRequest, ListPodSandboxResponse> {
    private final PodManager pods;

    public ListPodSandbox(PodManager pods) {
        this.pods = pods;
    }

    @Override
    public ListPodSandboxResponse handle(ListPodSandboxRequest request) {
        return ListPodSandboxResponse.newBuilder().addAllItems(items(request.getFilter())).build();
    }

    /** The pods that match, oldest first; StreamPodSandboxes sends the same. */
    public List<PodSandbox> items(PodSandboxFilter filter) {
        return pods.list().stream().filter(s -> matches(filter, s)).map(SandboxMapping::toListItem).toList();
    }

    static boolean matches(PodSandboxFilter f, Sandbox s) {
        if (!f.getId().isEmpty() && !s.id().startsWith(f.getId())) {
            return false;
        }
        if (f.hasState() && f.getState().getState() != SandboxMapping.state(s.state())) {
            return false;
        }
        return f.getLabelSelectorMap().entrySet().stream()
                .allMatch(e -> e.getValue().equals(s.labels().get(e.getKey())));
    }
}
