package io.berth.agent.streaming;

import io.berth.agent.log.Log;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One forwarded connection: a TCP connection to a port inside the pod, opened from its network
 * namespace, and the client's data stream carried both ways (kubelet's portforward handlers with
 * containerd's copy loop, internal/cri/server/sandbox_portforward_linux.go: client to pod until
 * the client's end, then a half-close; pod to client until the pod's end). A failure is written
 * to the pair's error stream.
 */
final class Forward {
    private static final Log LOG = Log.get(Forward.class);
    private static final int CHUNK = 32 * 1024;

    /** One direction of the client side: a SPDY stream or a WebSocket channel. */
    interface Pipe {
        void write(byte[] data);

        void close();
    }

    /** How a failure is told on the error stream. */
    interface ErrorReport {
        byte[] format(String message, boolean closeConnection);
    }

    private sealed interface In {
    }

    private record Data(byte[] bytes) implements In {
    }

    private enum Signal implements In { END, RESET }

    private final StreamTargets targets;
    private final String sandboxId;
    private final int port;
    private final Pipe data;
    private final Pipe error;
    private final Wire wire;
    private final ErrorReport report;
    private final Runnable onDone;
    private final LinkedBlockingQueue<In> input = new LinkedBlockingQueue<>();

    Forward(StreamTargets targets, String sandboxId, int port, Pipe data, Pipe error, Wire wire, ErrorReport report,
            Runnable onDone) {
        this.targets = targets;
        this.sandboxId = sandboxId;
        this.port = port;
        this.data = data;
        this.error = error;
        this.wire = wire;
        this.report = report;
        this.onDone = onDone;
    }

    // ---- from the transport (event loop) ----

    void data(byte[] bytes) {
        if (bytes.length == 0) return;
        wire.received(bytes.length);
        input.add(new Data(bytes));
    }

    /** The client finished sending (FIN on its data stream). */
    void end() {
        input.add(Signal.END);
    }

    /** The client reset the stream or went away. */
    void reset() {
        input.add(Signal.RESET);
    }

    void start() {
        Thread.ofVirtual().name("forward-" + port).start(this::run);
    }

    private void run() {
        SocketChannel socket;
        try {
            socket = targets.connect(sandboxId, port);
        } catch (IOException | RuntimeException e) {
            fail("error forwarding port " + port + " to pod " + sandboxId + ", uid : " + e.getMessage(), true);
            drainInput();
            onDone.run();
            return;
        }
        Thread reader = Thread.ofVirtual().name("forward-out-" + port).start(() -> podToClient(socket));
        try {
            while (true) {
                In in = input.take();
                if (in instanceof Data d) {
                    wire.consumed(d.bytes().length);
                    ByteBuffer b = ByteBuffer.wrap(d.bytes());
                    while (b.hasRemaining()) socket.write(b);
                } else if (in == Signal.END) {
                    socket.shutdownOutput();
                    break;
                } else {
                    socket.close();
                    break;
                }
            }
            reader.join();
        } catch (IOException e) {
            // EPIPE/ECONNRESET: the pod's side went away; kubelet keeps the connection for other streams
            fail("error forwarding port " + port + " to pod " + sandboxId + ", uid : " + e.getMessage(), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(socket);
            drainInput();
            data.close();
            error.close();
            onDone.run();
        }
    }

    private void podToClient(SocketChannel socket) {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        try {
            while (true) {
                buf.clear();
                int n = socket.read(buf);
                if (n < 0) break;
                if (n == 0) continue;
                byte[] chunk = new byte[n];
                buf.flip().get(chunk);
                wire.awaitWritable();
                data.write(chunk);
            }
        } catch (IOException e) {
            LOG.debug("forwarded connection ended", "port", port, "error", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // The pod closed its end: the client's data stream ends too; input still queued is dropped.
        data.close();
        input.add(Signal.RESET);
    }

    private void fail(String message, boolean closeConnection) {
        LOG.warn("port forward failed", "pod", sandboxId, "port", port, "error", message);
        error.write(report.format(message, closeConnection));
        error.close();
        data.close();
    }

    private void drainInput() {
        In in;
        while ((in = input.poll()) != null) {
            if (in instanceof Data d) wire.consumed(d.bytes().length);
        }
    }

    private static void closeQuietly(SocketChannel s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
