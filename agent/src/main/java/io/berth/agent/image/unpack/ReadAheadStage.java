package io.berth.agent.image.unpack;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Reads {@code source} on a thread of its own, a few chunks ahead of the reader: one stage of a
 * pipeline. A layer's download and decompression (ISA-L, zlib or zstd: native code) run here while
 * the reader parses the tar, hashes it and writes the files, so a pull uses two cores instead of
 * one (measured on a ~5 MB gzip layer of 10 MB with zlib: decompression 60-70 ms, tar and file
 * writes 25-50 ms, which used to add up).
 *
 * <p>An exception in the stage reaches the reader at the point where the data would have been,
 * and again on every later read. {@link #close()} stops the stage and waits for its thread to
 * finish, so the caller may then use {@code source}'s underlying streams itself (to drain and
 * verify a blob's digest, say) without racing it.
 */
public final class ReadAheadStage extends InputStream {
    private record Chunk(byte[] data, int length) {
    }

    private static final Chunk END = new Chunk(new byte[0], 0);

    /**
     * Platform threads (see the constructor), kept for a minute after their stage ends: a pull
     * starts one stage per layer, and starting a thread costs a few milliseconds on a busy node
     * (the starter waits until the new thread runs).
     */
    private static final ExecutorService THREADS = Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon().name("read-ahead-", 0).factory());

    private final InputStream source;
    private final int chunkSize;
    private final String name;
    private final BlockingQueue<Object> queue;
    /** Arrays the reader is done with, for the stage to fill again: no 256 KiB allocation per chunk. */
    private final BlockingQueue<byte[]> free;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean cancelled;
    private Chunk current;
    private int pos;
    private Object terminal;

    /**
     * Starts the stage.
     *
     * @param chunkSize bytes per hand-over
     * @param chunks    hand-overs queued at most (the read-ahead is {@code chunkSize * chunks})
     * @param name      the stage thread's name
     */
    public ReadAheadStage(InputStream source, int chunkSize, int chunks, String name) {
        this.source = source;
        this.chunkSize = chunkSize;
        this.name = name;
        this.queue = new ArrayBlockingQueue<>(chunks + 1); // + 1: the end or the failure always fits
        this.free = new ArrayBlockingQueue<>(chunks + 2);
        // A platform thread: decompression is CPU-bound native code that would hold a virtual
        // thread's carrier for milliseconds at a time, and every hand-over would then wait for a
        // carrier behind other CPU-bound work (measured: a 5-layer pull took 3x as long).
        THREADS.execute(this::run);
    }

    private void run() {
        Thread self = Thread.currentThread();
        String idle = self.getName();
        self.setName(name);
        try {
            produce();
        } finally {
            self.setName(idle);
            stopped.countDown();
        }
    }

    private void produce() {
        try {
            while (!cancelled) {
                byte[] buf = free.poll();
                if (buf == null) {
                    buf = new byte[chunkSize];
                }
                int n = 0;
                while (n < buf.length) {
                    int r = source.read(buf, n, buf.length - n);
                    if (r < 0) {
                        break;
                    }
                    n += r;
                }
                if (n > 0) {
                    hand(new Chunk(buf, n));
                }
                if (n < buf.length) {
                    hand(END);
                    return;
                }
            }
        } catch (Throwable t) {
            if (!cancelled) {
                try {
                    hand(t);
                } catch (InterruptedException ignored) {
                    // cancelled meanwhile: nobody is reading
                }
            }
        }
    }

    private void hand(Object o) throws InterruptedException {
        while (!cancelled) {
            if (queue.offer(o, 100, TimeUnit.MILLISECONDS)) {
                return;
            }
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (current == null || pos == current.length()) {
            if (current != null) {
                free.offer(current.data()); // its bytes are all read: the stage may fill it again
                current = null;
            }
            if (!nextChunk()) {
                return -1;
            }
        }
        int k = Math.min(len, current.length() - pos);
        System.arraycopy(current.data(), pos, b, off, k);
        pos += k;
        return k;
    }

    private boolean nextChunk() throws IOException {
        if (terminal == null) {
            if (cancelled) {
                throw new IOException("read-ahead stage " + name + " is closed");
            }
            Object o;
            try {
                o = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for " + name);
            }
            if (o instanceof Chunk c && c != END) {
                current = c;
                pos = 0;
                return true;
            }
            terminal = o;
        }
        if (terminal == END) {
            return false;
        }
        Throwable t = (Throwable) terminal;
        if (t instanceof IOException io) {
            throw io;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error err) {
            throw err;
        }
        throw new IOException(t);
    }

    /**
     * Stops the stage (if it still runs) and waits for its thread; the source is not closed. The
     * thread is not interrupted: an interrupt closes a FileChannel under it, and the caller may
     * still want to read the source. It stops after its current read instead.
     */
    @Override
    public void close() throws IOException {
        cancelled = true;
        queue.clear();
        boolean interrupted = false;
        while (true) {
            try {
                stopped.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
