package io.berth.agent.cri;

import com.google.protobuf.MessageLite;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.function.Function;

/**
 * Sends the answer of a CRI {@code Stream*} RPC (KEP-5825, feature gate CRIListStreaming): the items
 * its List* twin would answer, in lists "of at least one item", each item exactly once, then EOF.
 * No items means no message at all, only the EOF.
 *
 * <p>A list closes at {@link #MAX_ITEMS} items or before it would pass {@link #MAX_BYTES}, so a
 * message stays far below kubelet's 16 MiB limit however large the items' labels and annotations.
 *
 * <p>Flow control: the items are taken as one snapshot by the calling handler (in memory, as the
 * List* RPC takes them); lists are then sent only while the transport {@linkplain
 * ServerCallStreamObserver#isReady() is ready} and the rest from grpc-java's on-ready callback
 * (grpc-java's manual flow control pattern). A slow client therefore holds no thread and no lock of
 * the runtime, only its snapshot, and only until it reads on, cancels, or its deadline passes.
 */
public final class ListStream<T extends MessageLite, R> implements Runnable {
    public static final int MAX_ITEMS = 500;
    public static final int MAX_BYTES = 4 * 1024 * 1024;

    private final List<T> items;
    private final Function<List<T>, R> toResponse;
    private final ServerCallStreamObserver<R> call;
    private int next;
    private boolean done;

    private ListStream(List<T> items, Function<List<T>, R> toResponse, ServerCallStreamObserver<R> call) {
        this.items = items;
        this.toResponse = toResponse;
        this.call = call;
    }

    /**
     * Streams {@code items}, each list wrapped by {@code toResponse}. Call it from the RPC method
     * itself: grpc-java accepts the on-ready and on-cancel handlers only before the method returns.
     */
    public static <T extends MessageLite, R> void send(List<T> items, Function<List<T>, R> toResponse,
            StreamObserver<R> response) {
        var call = (ServerCallStreamObserver<R>) response;
        var stream = new ListStream<>(List.copyOf(items), toResponse, call);
        call.setOnCancelHandler(stream::cancel);
        call.setOnReadyHandler(stream);
        stream.run();
    }

    /** Sends lists while the transport takes them; completes after the last. grpc-java serializes the calls. */
    @Override
    public void run() {
        synchronized (this) {
            while (!done && next < items.size() && call.isReady()) {
                int end = batchEnd(items, next);
                call.onNext(toResponse.apply(items.subList(next, end)));
                next = end;
            }
            if (!done && next == items.size()) {
                done = true;
                call.onCompleted();
            }
        }
    }

    private synchronized void cancel() {
        done = true; // the client went away or its deadline passed: nothing more to send
    }

    /** The end (exclusive) of the list starting at {@code from}: at least one item, then up to the limits. */
    static int batchEnd(List<? extends MessageLite> items, int from) {
        int end = from + 1;
        long bytes = items.get(from).getSerializedSize();
        while (end < items.size() && end - from < MAX_ITEMS) {
            bytes += items.get(end).getSerializedSize() + 8; // + the field's tag and length prefix, at most
            if (bytes > MAX_BYTES) break;
            end++;
        }
        return end;
    }
}
