package io.berth.shim;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Cleanup steps registered as resources are acquired (STYLE.md §7) and run in reverse order on
 * failure; their own errors are attached to the original one, not lost.
 */
final class Undo {
    interface Step {
        void run() throws Exception;
    }

    private record Named(String what, Step step) {
    }

    private final Deque<Named> steps = new ArrayDeque<>();

    synchronized void push(String what, Step step) {
        steps.push(new Named(what, step));
    }

    /** Runs every step (newest first), adding failures to {@code cause} if given. */
    synchronized void unwind(Throwable cause) {
        while (!steps.isEmpty()) {
            Named n = steps.pop();
            try {
                n.step().run();
            } catch (Exception e) {
                var wrapped = new RuntimeException("undo " + n.what() + ": " + e.getMessage(), e);
                if (cause != null) {
                    cause.addSuppressed(wrapped);
                } else {
                    Log.warn(wrapped.getMessage());
                }
            }
        }
    }

    synchronized void forget() {
        steps.clear();
    }
}
