package io.berth.agent.cri;

/**
 * One unary CRI call: validate the request, look up, call the domain, map the result. A handler
 * throws domain exceptions ({@link io.berth.agent.domain.BerthException}); the boundary turns
 * them into gRPC statuses.
 */
@FunctionalInterface
public interface Handler<Q, R> {
    R handle(Q request);
}
