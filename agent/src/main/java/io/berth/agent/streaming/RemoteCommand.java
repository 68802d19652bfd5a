package io.berth.agent.streaming;

import io.berth.agent.log.Log;
import java.io.IOException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One exec or attach session, whatever carries it (SPDY streams or WebSocket channels): the client's
 * input goes to the process in order on one virtual thread, its output comes back on another, and
 * the end is reported on the error stream as kubelet does (remotecommand/exec.go), then the
 * connection is closed. Inbound calls come from the Netty event loop and never block.
 */
final class RemoteCommand {
    private static final Log LOG = Log.get(RemoteCommand.class);

    enum Out { STDOUT, STDERR, ERROR }

    /** The client side of the session, implemented by each transport. */
    interface Streams {
        void write(Out out, byte[] data);

        void close(Out out);

        void closeConnection();
    }

    private sealed interface In {
    }

    private record Data(byte[] bytes) implements In {
    }

    private record Resize(int width, int height) implements In {
    }

    private enum Signal implements In { STDIN_EOF, GONE, DONE }

    private final StreamRequest request;
    private final StreamTargets targets;
    private final Streams streams;
    private final Wire wire;
    private final boolean jsonStatus;
    private final ResizeDecoder resizes = new ResizeDecoder();
    private final LinkedBlockingQueue<In> input = new LinkedBlockingQueue<>();
    private volatile boolean started;

    RemoteCommand(StreamRequest request, StreamTargets targets, Streams streams, Wire wire, boolean jsonStatus) {
        if (!(request instanceof StreamRequest.Exec) && !(request instanceof StreamRequest.Attach)) {
            throw new IllegalArgumentException("not an exec or attach: " + request);
        }
        this.request = request;
        this.targets = targets;
        this.streams = streams;
        this.wire = wire;
        this.jsonStatus = jsonStatus;
    }

    boolean wantsStdin() {
        return request instanceof StreamRequest.Exec e ? e.stdin() : ((StreamRequest.Attach) request).stdin();
    }

    boolean wantsStdout() {
        return request instanceof StreamRequest.Exec e ? e.stdout() : ((StreamRequest.Attach) request).stdout();
    }

    boolean wantsStderr() {
        return request instanceof StreamRequest.Exec e ? e.stderr() && !e.tty()
                : ((StreamRequest.Attach) request).stderr() && !((StreamRequest.Attach) request).tty();
    }

    boolean tty() {
        return request instanceof StreamRequest.Exec e ? e.tty() : ((StreamRequest.Attach) request).tty();
    }

    // ---- from the transport (event loop) ----

    void stdin(byte[] data) {
        if (data.length == 0) return;
        wire.received(data.length);
        input.add(new Data(data));
    }

    void stdinEnd() {
        input.add(Signal.STDIN_EOF);
    }

    void resize(byte[] json) {
        for (var s : resizes.feed(json)) input.add(new Resize(s.width(), s.height()));
    }

    void disconnected() {
        input.add(Signal.GONE);
    }

    /** All streams the client announced are there: run the process. */
    void start() {
        if (started) return;
        started = true;
        Thread.ofVirtual().name("stream-" + request.kind()).start(this::run);
    }

    // ---- the session ----

    private void run() {
        Stdio stdio;
        try {
            stdio = open();
        } catch (RuntimeException e) {
            LOG.warn("stream failed to start", "kind", request.kind(), "error", e.getMessage());
            finish(Status.internal("error executing command in container: " + e.getMessage()));
            return;
        }
        Thread.ofVirtual().name("stream-out-" + request.kind()).start(() -> pumpOutput(stdio));
        boolean inputOpen = true;
        try {
            while (true) {
                In in = input.take();
                try {
                    switch (in) {
                        case Data d -> {
                            wire.consumed(d.bytes().length);
                            if (inputOpen) stdio.stdin(d.bytes());
                        }
                        case Resize r -> stdio.resize(r.width(), r.height());
                        case Signal s when s == Signal.STDIN_EOF -> stdio.stdinEof();
                        case Signal s -> {
                            return; // GONE or DONE
                        }
                    }
                } catch (IOException e) {
                    inputOpen = false; // the shim stopped reading: the output side reports the end
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stdio.close();
        }
    }

    /**
     * For a tty exec, the first size the client sent (already queued when the streams were all
     * there) becomes the terminal's initial size, so the process never sees a 0x0 terminal.
     */
    private Stdio open() {
        return switch (request) {
            case StreamRequest.Exec e -> {
                int w = 0;
                int h = 0;
                for (In in : input) {
                    if (in instanceof Resize r) {
                        w = r.width();
                        h = r.height();
                    }
                }
                yield targets.exec(e, w, h);
            }
            case StreamRequest.Attach a -> targets.attach(a);
            case StreamRequest.PortForward p -> throw new IllegalStateException("port-forward is not a remote command");
        };
    }

    private void pumpOutput(Stdio stdio) {
        Status status;
        try {
            status = null;
            Stdio.Output out;
            while (status == null && (out = stdio.read()) != null) {
                switch (out) {
                    case Stdio.Stdout o -> send(Out.STDOUT, o.data(), wantsStdout());
                    case Stdio.Stderr o -> send(Out.STDERR, o.data(), wantsStderr());
                    case Stdio.Exit x -> status = status(x);
                }
            }
            if (status == null) status = Status.internal("the stream from the container ended without an exit status");
        } catch (IOException e) {
            status = Status.internal("reading the output: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = Status.internal("interrupted");
        }
        finish(status);
        input.add(Signal.DONE);
    }

    private void send(Out out, byte[] data, boolean wanted) throws InterruptedException {
        if (!wanted || data.length == 0) return;
        wire.awaitWritable();
        streams.write(out, data);
    }

    private Status status(Stdio.Exit x) {
        if (!x.error().isEmpty()) return Status.internal(x.error());
        if (request instanceof StreamRequest.Exec e && x.code() != 0) return Status.exit(x.code(), "[" + String.join(" ", e.cmd()) + "]");
        return Status.ok();
    }

    private void finish(Status status) {
        streams.close(Out.STDOUT);
        streams.close(Out.STDERR);
        byte[] report = jsonStatus ? status.json() : status.text();
        if (report.length > 0) streams.write(Out.ERROR, report);
        streams.close(Out.ERROR);
        streams.closeConnection();
    }
}
