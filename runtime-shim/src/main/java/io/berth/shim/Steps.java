package io.berth.shim;

import java.io.IOException;

/**
 * Named steps of a container's set-up: a failure, checked or not, becomes an IOException whose
 * message starts with the step's name, so the error the agent reports says which step failed.
 */
final class Steps {
    private Steps() {
    }

    interface IoStep {
        void run() throws IOException;
    }

    interface IoCall<T> {
        T call() throws IOException;
    }

    static <T> T result(String name, IoCall<T> call) throws IOException {
        try {
            return call.call();
        } catch (IOException | RuntimeException e) {
            throw new IOException(name + ": " + e.getMessage(), e);
        }
    }

    static void step(String name, IoStep s) throws IOException {
        result(name, () -> {
            s.run();
            return null;
        });
    }
}
