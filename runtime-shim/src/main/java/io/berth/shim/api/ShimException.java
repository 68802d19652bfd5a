package io.berth.shim.api;

/** A shim refused or failed a request; the message is the shim's own (it names the step and path). */
public class ShimException extends Exception {
    public ShimException(String message) {
        super(message);
    }

    public ShimException(String message, Throwable cause) {
        super(message, cause);
    }
}
