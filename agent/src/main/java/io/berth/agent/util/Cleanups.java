package io.berth.agent.util;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Undo steps registered as their resources are acquired, run in reverse order on close. An undo
 * that fails does not stop the others; its error is attached to the first one as suppressed, so
 * nothing is lost (CRI-O's ResourceCleaner, runc's deferred rollback).
 */
public final class Cleanups implements AutoCloseable {

    @FunctionalInterface
    public interface Undo {
        void run() throws Exception;
    }

    private record Step(String name, Undo undo) {
    }

    private final Deque<Step> steps = new ArrayDeque<>();

    public synchronized void push(String name, Undo undo) {
        steps.push(new Step(name, undo));
    }

    /** Forget the registered steps: what they would undo now belongs to someone else. */
    public synchronized void release() {
        steps.clear();
    }

    /** Runs every undo, last registered first. Throws the first failure with the rest suppressed. */
    @Override
    public synchronized void close() {
        RuntimeException failure = null;
        while (!steps.isEmpty()) {
            Step step = steps.pop();
            try {
                step.undo().run();
            } catch (Exception e) {
                var wrapped = new IllegalStateException("undo '" + step.name() + "' failed: " + e, e);
                if (failure == null) {
                    failure = wrapped;
                } else {
                    failure.addSuppressed(wrapped);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
