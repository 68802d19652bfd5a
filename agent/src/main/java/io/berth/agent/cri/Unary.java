package io.berth.agent.cri;

import io.grpc.stub.StreamObserver;

/** Runs a {@link Handler} for a grpc-java unary method; exceptions go up to the boundary. */
final class Unary {
    private Unary() {
    }

    static <Q, R> void call(Handler<Q, R> handler, Q request, StreamObserver<R> response) {
        R result = handler.handle(request);
        response.onNext(result);
        response.onCompleted();
    }
}
