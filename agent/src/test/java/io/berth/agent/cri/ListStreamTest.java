package io.berth.agent.cri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.PodSandbox;
import io.berth.cri.v1.StreamPodSandboxesResponse;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ListStreamTest {
    /** A server call whose transport readiness the test sets, recording what is sent. */
    static final class FakeCall extends ServerCallStreamObserver<StreamPodSandboxesResponse> {
        final List<StreamPodSandboxesResponse> sent = new ArrayList<>();
        boolean ready = true;
        boolean completed;
        boolean cancelled;
        Runnable onReady;
        Runnable onCancel;

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public void setOnCancelHandler(Runnable handler) {
            onCancel = handler;
        }

        @Override
        public void setCompression(String compression) {
        }

        @Override
        public boolean isReady() {
            return ready;
        }

        @Override
        public void setOnReadyHandler(Runnable handler) {
            onReady = handler;
        }

        @Override
        public void request(int count) {
        }

        @Override
        public void setMessageCompression(boolean enable) {
        }

        @Override
        public void disableAutoInboundFlowControl() {
        }

        @Override
        public void onNext(StreamPodSandboxesResponse value) {
            if (cancelled) throw new IllegalStateException("sent after cancel");
            sent.add(value);
            ready = sent.size() < 2; // the transport's buffer fills after two lists
        }

        @Override
        public void onError(Throwable t) {
            throw new AssertionError(t);
        }

        @Override
        public void onCompleted() {
            if (completed) throw new IllegalStateException("completed twice");
            completed = true;
        }

        List<String> ids() {
            return sent.stream().flatMap(r -> r.getPodSandboxesList().stream()).map(PodSandbox::getId).toList();
        }
    }

    static List<PodSandbox> pods(int n, int annotationBytes) {
        return IntStream.range(0, n).mapToObj(i -> PodSandbox.newBuilder().setId("p" + i)
                .putAnnotations("a", "x".repeat(annotationBytes)).build()).toList();
    }

    static void send(List<PodSandbox> items, FakeCall call) {
        ListStream.send(items, b -> StreamPodSandboxesResponse.newBuilder().addAllPodSandboxes(b).build(), call);
    }

    @Test
    void itemsGoInListsOfAtMostMaxItemsEachOnceAndOnlyWhileTheTransportIsReady() {
        var items = pods(1200, 0);
        var call = new FakeCall();
        send(items, call);
        assertEquals(2, call.sent.size(), "stops when the transport is not ready");
        assertFalse(call.completed);
        call.ready = true;
        call.onReady.run();
        assertTrue(call.completed);
        assertEquals(List.of(500, 500, 200), call.sent.stream().map(StreamPodSandboxesResponse::getPodSandboxesCount).toList());
        assertEquals(items.stream().map(PodSandbox::getId).toList(), call.ids(), "each item exactly once, in order");
        call.onReady.run(); // a late on-ready callback sends nothing more
        assertEquals(3, call.sent.size());
    }

    @Test
    void noItemsIsNoListOnlyTheEnd() {
        var call = new FakeCall();
        send(List.of(), call);
        assertTrue(call.sent.isEmpty());
        assertTrue(call.completed);
    }

    @Test
    void largeItemsCloseAListBeforeItPassesMaxBytesAndAHugeOneStillGoesAlone() {
        var call = new FakeCall();
        var items = new ArrayList<>(pods(5, 1_500_000));
        items.add(1, pods(1, 6 * 1024 * 1024).getFirst().toBuilder().setId("huge").build());
        send(items, call);
        call.ready = true;
        call.onReady.run();
        call.ready = true;
        call.onReady.run();
        assertEquals(List.of(1, 1, 2, 2), call.sent.stream().map(StreamPodSandboxesResponse::getPodSandboxesCount).toList());
        assertTrue(call.sent.stream().allMatch(r -> r.getSerializedSize() < 16 * 1024 * 1024));
        assertEquals(6, call.ids().size());
    }

    @Test
    void aCancelledCallGetsNothingMore() {
        var call = new FakeCall();
        send(pods(1500, 0), call);
        call.cancelled = true;
        call.onCancel.run();
        call.ready = true;
        call.onReady.run();
        assertEquals(2, call.sent.size());
        assertFalse(call.completed);
    }
}
