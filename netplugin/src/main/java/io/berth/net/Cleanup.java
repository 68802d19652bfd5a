package io.berth.net;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Undo steps registered as resources are acquired (STYLE.md 7): on failure they run in reverse
 * order, and their own errors are attached to the original one instead of replacing it.
 */
final class Cleanup {
    interface Step {
        void run() throws Exception;
    }

    private record Named(String what, Step step) {
    }

    private final Deque<Named> steps = new ArrayDeque<>();

    void push(String what, Step undo) {
        steps.push(new Named(what, undo));
    }

    /** Runs the undo steps, newest first, attaching their failures to {@code cause}. */
    void unwind(Throwable cause) {
        while (!steps.isEmpty()) {
            Named n = steps.pop();
            try {
                n.step().run();
            } catch (Exception | Error e) {
                cause.addSuppressed(new NetworkException("undo " + n.what() + " failed: " + e.getMessage(), e));
            }
        }
    }
}
