package io.berth.shim.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;

/**
 * The agent's end of an interactive shim stream (exec or attach): StreamFrames both ways on the
 * request's connection. Reads come from one thread; sends may come from several.
 */
public final class ShimStream implements AutoCloseable {
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;

    ShimStream(SocketChannel channel, InputStream in) {
        this.channel = channel;
        this.in = in;
        this.out = Channels.newOutputStream(channel);
    }

    /** The next frame from the shim (stdout, stderr, then exit), or null once it closed the stream. */
    public StreamFrame read() throws IOException {
        return StreamFrame.parseDelimitedFrom(in);
    }

    public void stdin(byte[] data) throws IOException {
        send(StreamFrame.newBuilder().setStdin(com.google.protobuf.ByteString.copyFrom(data)).build());
    }

    public void stdinEof() throws IOException {
        send(StreamFrame.newBuilder().setStdinEof(Empty.getDefaultInstance()).build());
    }

    public void resize(int width, int height) throws IOException {
        send(StreamFrame.newBuilder().setResize(TerminalSize.newBuilder().setWidth(width).setHeight(height)).build());
    }

    private synchronized void send(StreamFrame frame) throws IOException {
        frame.writeDelimitedTo(out);
        out.flush();
    }

    /** Ends the stream; for an exec whose process still runs, the shim kills it. Idempotent. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
