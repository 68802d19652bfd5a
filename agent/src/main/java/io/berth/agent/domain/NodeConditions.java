package io.berth.agent.domain;

import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/**
 * The node's runtime conditions as kubelet reads them through CRI Status. A condition that is not
 * true always carries a reason (CamelCase, machine-readable) and a message for people; each part of
 * the agent reports the truth about its own condition here.
 */
public final class NodeConditions {
    public static final String RUNTIME_READY = "RuntimeReady";
    public static final String NETWORK_READY = "NetworkReady";

    public record Condition(String type, boolean status, String reason, String message) {
        public static Condition ready(String type) {
            return new Condition(type, true, "", "");
        }

        public static Condition notReady(String type, String reason, String message) {
            return new Condition(type, false, reason, message);
        }
    }

    private final ConcurrentMap<String, Supplier<Condition>> conditions = new ConcurrentHashMap<>();

    public void set(Condition condition) {
        conditions.put(condition.type(), () -> condition);
    }

    /** A condition whose truth is asked of its owner each time Status is called. */
    public void track(String type, Supplier<Condition> source) {
        conditions.put(type, source);
    }

    /** RuntimeReady first, NetworkReady second, then any others by name: a stable order for clients. */
    public List<Condition> all() {
        return conditions.values().stream()
                .map(Supplier::get)
                .sorted(Comparator.comparingInt((Condition c) -> rank(c.type())).thenComparing(Condition::type))
                .toList();
    }

    private static int rank(String type) {
        return switch (type) {
            case RUNTIME_READY -> 0;
            case NETWORK_READY -> 1;
            default -> 2;
        };
    }
}
