package io.berth.net;

/** CRI RuntimeCondition NetworkReady: {@code ready}, else a CamelCase reason and a human message. */
public record Readiness(boolean ready, String reason, String message) {
    public static Readiness ok() {
        return new Readiness(true, "", "");
    }

    public static Readiness notReady(String reason, String message) {
        return new Readiness(false, reason, message);
    }
}
