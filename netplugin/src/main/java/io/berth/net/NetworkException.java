package io.berth.net;

/** Setting up or tearing down a pod's network failed; the message names the pod, the step and its object. */
public class NetworkException extends RuntimeException {
    public NetworkException(String message) {
        super(message);
    }

    public NetworkException(String message, Throwable cause) {
        super(message, cause);
    }
}
