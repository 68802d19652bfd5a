package io.berth.shim;

import io.berth.kernel.Errno;
import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.SyscallException;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/**
 * A platform thread that reads one pipe (or pty master) until end of file. Started on a normal
 * thread before any thread taints itself (a tainted thread cannot start threads).
 */
final class Pump {
    interface Sink {
        void accept(byte[] buf, int len) throws Exception;

        default void end() throws Exception {
        }
    }

    private Pump() {
    }

    /** Reads {@code fd} (possibly delivered later, e.g. a pty master) into {@code sink}, then closes it. */
    static Thread start(String name, Future<Fd> source, Sink sink) {
        return Thread.ofPlatform().name(name).daemon(true).start(() -> {
            Fd fd;
            try {
                fd = source.get();
            } catch (Exception e) {
                return; // the container was never created
            }
            byte[] buf = new byte[32 * 1024];
            try (fd) {
                while (true) {
                    int n;
                    try {
                        n = FileOps.read(fd, buf);
                    } catch (SyscallException e) {
                        // EIO: a pty master reads EIO once the last slave fd is closed (pty(7)).
                        // Anything else cuts the output short: say so in the shim's log.
                        if (e.errno() != Errno.EIO) Log.warn(name + ": " + e.getMessage());
                        break;
                    }
                    if (n <= 0) break;
                    sink.accept(buf, n);
                }
                sink.end();
            } catch (Exception | Error e) {
                // An Error too (an OutOfMemoryError in a sink): the thread would end with the
                // output cut short and nothing in the shim's log to say why.
                Log.warn(name + ": " + e);
            }
        });
    }

    static Thread start(String name, Fd fd, Sink sink) {
        return start(name, CompletableFuture.completedFuture(fd), sink);
    }

    /** Collects up to {@code cap} bytes and keeps draining (so the writer never blocks) past it. */
    static final class Capped implements Sink {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final int cap;
        volatile boolean truncated;

        Capped(int cap) {
            this.cap = cap;
        }

        @Override
        public synchronized void accept(byte[] buf, int len) {
            int room = cap - out.size();
            if (room < len) truncated = true;
            if (room > 0) out.write(buf, 0, Math.min(room, len));
        }

        synchronized byte[] bytes() {
            return out.toByteArray();
        }
    }
}
