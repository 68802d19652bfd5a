package io.berth.agent.server;

import io.berth.agent.domain.BerthException;
import io.berth.agent.log.Log;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The one wrapper around every CRI call: it times and counts the call, logs it, and turns what a
 * handler throws into a gRPC status, so that handlers stay free of transport concerns. A
 * {@link BerthException} keeps its message and maps by kind; anything else is an INTERNAL error,
 * logged with its stack.
 */
public final class CriBoundary implements ServerInterceptor {
    private static final Log LOG = Log.get(CriBoundary.class);

    private final CriMetrics metrics;

    public CriBoundary(CriMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String service = call.getMethodDescriptor().getServiceName();
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        var observed = new SimpleForwardingServerCall<Q, R>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                long nanos = System.nanoTime() - start;
                String code = status.getCode().name();
                metrics.observe(service == null ? "" : shortService(service), method, code, nanos);
                if (status.isOk()) {
                    LOG.debug("cri call", "method", method, "code", code, "ms", nanos / 1_000_000.0);
                } else {
                    LOG.info("cri call failed", "method", method, "code", code,
                            "ms", nanos / 1_000_000.0, "error", status.getDescription());
                }
                super.close(status, trailers);
            }
        };
        ServerCall.Listener<Q> listener = next.startCall(observed, headers);
        return new SimpleForwardingServerCallListener<>(listener) {
            // Unary handlers run when the request is complete; server-streaming ones start here too.
            @Override
            public void onHalfClose() {
                try {
                    super.onHalfClose();
                } catch (RuntimeException e) {
                    observed.close(toStatus(method, e), new Metadata());
                }
            }

            @Override
            public void onMessage(Q message) {
                try {
                    super.onMessage(message);
                } catch (RuntimeException e) {
                    observed.close(toStatus(method, e), new Metadata());
                }
            }
        };
    }

    static Status toStatus(String method, RuntimeException e) {
        return switch (e) {
            case BerthException b -> Status.fromCode(Status.Code.valueOf(b.kind().name()))
                    .withDescription(b.getMessage())
                    .withCause(b.getCause());
            case StatusRuntimeException s -> s.getStatus();
            default -> {
                LOG.error("cri call failed unexpectedly", e, "method", method);
                yield Status.INTERNAL.withDescription(method + ": " + e).withCause(e);
            }
        };
    }

    private static String shortService(String fullName) {
        int dot = fullName.lastIndexOf('.');
        return dot < 0 ? fullName : fullName.substring(dot + 1);
    }
}
