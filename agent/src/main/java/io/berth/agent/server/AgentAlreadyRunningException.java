package io.berth.agent.server;

/** Another live agent serves (or is about to serve) the socket; this one must not take it over. */
public final class AgentAlreadyRunningException extends RuntimeException {
    public AgentAlreadyRunningException(String message) {
        super(message);
    }
}
