package io.berth.shim;

import com.google.protobuf.ByteString;
import io.berth.shim.api.StreamFrame;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The clients attached to a container's own stdio (CRI Attach). The log pumps hand every chunk
 * of output here after writing it to the CRI log; each client has its own queue and writer
 * thread, so a slow or stuck client never holds up the container's output or its log. A client
 * that falls more than {@link #MAX_QUEUED} bytes behind is detached.
 */
final class Attachments {
    static final long MAX_QUEUED = 4 << 20;

    private final List<Client> clients = new CopyOnWriteArrayList<>();
    private boolean ended;
    private int exitCode;
    private int signal;

    /** One attached connection: which streams it wants and the frames waiting for it. */
    static final class Client {
        private static final StreamFrame END = StreamFrame.getDefaultInstance();
        private final boolean stdout;
        private final boolean stderr;
        private final FrameWriter frames;
        private final LinkedBlockingQueue<StreamFrame> queue = new LinkedBlockingQueue<>();
        private final AtomicLong queued = new AtomicLong();
        private volatile boolean done;
        private volatile int exitCode = -1;
        private volatile int signal;

        Client(boolean stdout, boolean stderr, FrameWriter frames) {
            this.stdout = stdout;
            this.stderr = stderr;
            this.frames = frames;
        }

        private void offer(CriLog.Stream stream, ByteString data) {
            if (done || !(stream == CriLog.Stream.STDOUT ? stdout : stderr)) return;
            if (queued.addAndGet(data.size()) > MAX_QUEUED) {
                Log.warn("attached client is " + MAX_QUEUED + " bytes behind; detaching it");
                stop();
                return;
            }
            queue.add(stream == CriLog.Stream.STDOUT ? StreamFrame.newBuilder().setStdout(data).build()
                    : StreamFrame.newBuilder().setStderr(data).build());
        }

        private void finish(int code, int sig) {
            signal = sig;
            exitCode = code;
            queue.add(END);
        }

        /** Ends the writer without an exit frame (the client went away, or fell behind). */
        void stop() {
            done = true;
            queue.add(END);
        }

        /** The writer loop, on the client's own thread: frames in order, then the exit frame; then {@code onEnd}. */
        void run(Runnable onEnd) {
            try {
                while (true) {
                    StreamFrame f = queue.take();
                    if (f == END) break;
                    queued.addAndGet(-(f.getStdout().size() + f.getStderr().size()));
                    frames.send(f);
                }
                if (exitCode >= 0 && !done) {
                    frames.exit(exitCode, signal, "");
                }
            } catch (IOException | InterruptedException e) {
                done = true;
            }
            onEnd.run();
        }
    }

    /** A chunk of the container's output (the pump's buffer: copied before it is reused). */
    void output(CriLog.Stream stream, byte[] buf, int len) {
        if (clients.isEmpty()) return;
        ByteString data = ByteString.copyFrom(buf, 0, len);
        for (Client c : clients) c.offer(stream, data);
    }

    /** Adds a client; false once the container has exited (then {@link #exitCode()} tells how). */
    synchronized boolean add(Client c) {
        if (ended) return false;
        clients.add(c);
        return true;
    }

    void remove(Client c) {
        clients.remove(c);
        c.stop();
    }

    /** The container exited (all output delivered to the queues first): each client gets the exit. */
    synchronized void exit(int code, int sig) {
        ended = true;
        exitCode = code;
        signal = sig;
        for (Client c : clients) c.finish(code, sig);
        clients.clear();
    }

    synchronized int exitCode() {
        return exitCode;
    }

    synchronized int signal() {
        return signal;
    }
}
