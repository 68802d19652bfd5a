package io.berth.shim;

import com.google.protobuf.ByteString;
import io.berth.shim.api.StreamExit;
import io.berth.shim.api.StreamFrame;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The shim's side of a stream connection: StreamFrame messages, varint-length-delimited, written
 * whole by one thread at a time (the stdout and stderr pumps share it). After {@link #exit} nothing
 * more is sent.
 */
final class FrameWriter {
    private final OutputStream out;
    private boolean closed;

    FrameWriter(OutputStream out) {
        this.out = out;
    }

    void stdout(byte[] buf, int len) throws IOException {
        send(StreamFrame.newBuilder().setStdout(ByteString.copyFrom(buf, 0, len)).build());
    }

    void stderr(byte[] buf, int len) throws IOException {
        send(StreamFrame.newBuilder().setStderr(ByteString.copyFrom(buf, 0, len)).build());
    }

    synchronized void send(StreamFrame frame) throws IOException {
        if (closed) throw new IOException("stream already ended");
        frame.writeDelimitedTo(out);
        out.flush();
    }

    /** Sends the exit frame, the last one, and half-closes: the client sees the end of the stream. */
    synchronized void exit(int code, int signal, String error) {
        if (closed) return;
        try {
            send(StreamFrame.newBuilder().setExit(StreamExit.newBuilder().setExitCode(code).setSignal(signal)
                    .setError(error == null ? "" : error)).build());
        } catch (IOException e) {
            // the client is gone; nothing to tell it
        }
        closed = true;
    }
}
