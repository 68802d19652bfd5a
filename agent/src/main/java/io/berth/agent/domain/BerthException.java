package io.berth.agent.domain;

/**
 * What the domain throws when a request cannot be carried out. The {@link Kind} says what sort of
 * failure it is; the CRI boundary maps it to a gRPC status code, handlers never build one. Messages
 * name the object (id, name, path) and what was wrong with it.
 */
public class BerthException extends RuntimeException {

    /** Failure kinds, named after the gRPC codes they map to (https://grpc.io/docs/guides/status-codes/). */
    public enum Kind {
        INVALID_ARGUMENT,
        NOT_FOUND,
        ALREADY_EXISTS,
        FAILED_PRECONDITION,
        PERMISSION_DENIED,
        UNAUTHENTICATED,
        RESOURCE_EXHAUSTED,
        DEADLINE_EXCEEDED,
        UNAVAILABLE,
        UNIMPLEMENTED,
        INTERNAL
    }

    private final Kind kind;

    public BerthException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public BerthException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static BerthException invalid(String message) {
        return new BerthException(Kind.INVALID_ARGUMENT, message);
    }

    public static BerthException notFound(String message) {
        return new BerthException(Kind.NOT_FOUND, message);
    }
}
