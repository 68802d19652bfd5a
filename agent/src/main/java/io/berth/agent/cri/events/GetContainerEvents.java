package io.berth.agent.cri.events;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerListener;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.container.ContainerMapping;
import io.berth.agent.cri.sandbox.SandboxMapping;
import io.berth.agent.events.ContainerEvents;
import io.berth.agent.log.Log;
import io.berth.agent.pod.PodManager;
import io.berth.cri.v1.ContainerEventResponse;
import io.berth.cri.v1.ContainerEventType;
import io.berth.cri.v1.GetEventsRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Comparator;

/**
 * CRI GetContainerEvents: a server stream of container lifecycle events, each with its pod's
 * sandbox status and the statuses of the pod's containers, which is what kubelet's evented PLEG
 * (pkg/kubelet/pleg/evented.go) puts in its pod cache. One virtual thread per subscriber sends,
 * honouring gRPC flow control; a client too slow to keep up overflows its queue and its stream
 * ends with RESOURCE_EXHAUSTED, never slowing the runtime.
 */
public final class GetContainerEvents {
    private static final Log LOG = Log.get(GetContainerEvents.class);

    private final ContainerEvents events;
    private final PodManager pods;
    private final ContainerManager containers;
    private final int capacity;

    public GetContainerEvents(ContainerEvents events, PodManager pods, ContainerManager containers, int capacity) {
        this.events = events;
        this.pods = pods;
        this.containers = containers;
        this.capacity = capacity;
    }

    public void stream(GetEventsRequest request, StreamObserver<ContainerEventResponse> response) {
        var call = (ServerCallStreamObserver<ContainerEventResponse>) response;
        ContainerEvents.Subscriber sub = events.subscribe(capacity);
        Object ready = new Object();
        call.setOnReadyHandler(() -> {
            synchronized (ready) {
                ready.notifyAll();
            }
        });
        Thread sender = Thread.ofVirtual().name("events-sender").unstarted(() -> send(sub, call, ready));
        call.setOnCancelHandler(() -> {
            sub.close();
            sender.interrupt();
        });
        sender.start();
    }

    private void send(ContainerEvents.Subscriber sub, ServerCallStreamObserver<ContainerEventResponse> call, Object ready) {
        try (sub) {
            while (!call.isCancelled()) {
                ContainerEvents.Event e = sub.next(1000);
                if (e == null) continue;
                synchronized (ready) {
                    while (!call.isReady() && !call.isCancelled()) {
                        ready.wait(1000);
                    }
                }
                if (call.isCancelled()) return;
                call.onNext(toResponse(e));
            }
        } catch (ContainerEvents.OverflowException e) {
            LOG.warn("dropping a container event subscriber that fell behind", "error", e.getMessage());
            call.onError(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException());
        } catch (InterruptedException e) {
            // cancelled by the client
        } catch (RuntimeException e) {
            if (!call.isCancelled()) {
                call.onError(Status.INTERNAL.withDescription("GetContainerEvents: " + e).asRuntimeException());
            }
        }
    }

    ContainerEventResponse toResponse(ContainerEvents.Event e) {
        Container c = e.container();
        var out = ContainerEventResponse.newBuilder()
                .setContainerId(c.id())
                .setContainerEventType(type(e.change()))
                .setCreatedAt(e.createdAt());
        pods.find(c.sandboxId()).ifPresent(s -> out.setPodSandboxStatus(SandboxMapping.toStatus(s)));
        // The pod's containers as recorded now (no shim is asked), with this one as of the event.
        containers.records().stream()
                .filter(o -> o.sandboxId().equals(c.sandboxId()) && !o.id().equals(c.id()))
                .sorted(Comparator.comparingLong(Container::createdAt))
                .forEach(o -> out.addContainersStatuses(ContainerMapping.toStatus(o)));
        if (e.change() != ContainerListener.Change.DELETED) {
            out.addContainersStatuses(ContainerMapping.toStatus(c));
        }
        return out.build();
    }

    static ContainerEventType type(ContainerListener.Change change) {
        return switch (change) {
            case CREATED -> ContainerEventType.CONTAINER_CREATED_EVENT;
            case STARTED -> ContainerEventType.CONTAINER_STARTED_EVENT;
            case STOPPED -> ContainerEventType.CONTAINER_STOPPED_EVENT;
            case DELETED -> ContainerEventType.CONTAINER_DELETED_EVENT;
        };
    }
}
