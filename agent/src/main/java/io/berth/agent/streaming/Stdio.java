package io.berth.agent.streaming;

import java.io.IOException;

/** A process's stdio as a stream of output chunks and an exit, with input going the other way. */
public interface Stdio extends AutoCloseable {
    sealed interface Output permits Stdout, Stderr, Exit {
    }

    record Stdout(byte[] data) implements Output {
    }

    record Stderr(byte[] data) implements Output {
    }

    /** The last output: how the process (or for attach, the container) ended; error non-empty if the stream broke. */
    record Exit(int code, int signal, String error) implements Output {
    }

    /** The next output, blocking; null when the stream ended without an exit. */
    Output read() throws IOException;

    void stdin(byte[] data) throws IOException;

    void stdinEof() throws IOException;

    void resize(int width, int height) throws IOException;

    /** Ends the stream; an exec whose process still runs is killed. Idempotent. */
    @Override
    void close();
}
