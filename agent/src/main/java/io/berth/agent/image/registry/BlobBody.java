package io.berth.agent.image.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A blob's response body as an {@link InputStream} that reads ahead and notices a stall.
 *
 * <p>The JDK's {@code BodyHandlers.ofInputStream()} asks the connection for one buffer at a time,
 * so the socket sits idle whenever the reader is busy decompressing or writing files: measured on
 * a loopback registry, a 5 MB layer spent 20 to 120 ms blocked in its reads. This subscriber keeps
 * requesting buffers until {@code readAhead} bytes are queued, so the download runs while the
 * layer is being unpacked, and the reader rarely waits.
 *
 * <p>A read that gets no byte for {@code stallTimeout} fails with an {@link HttpTimeoutException}
 * naming the timeout and cancels the subscription (the connection is dropped, not returned to the
 * pool): a registry or proxy that stops sending mid-blob must not hang a pull forever (containerd
 * has the same guard, its fetcher's "no data received" timeout).
 */
final class BlobBody extends InputStream implements HttpResponse.BodySubscriber<InputStream> {
    private final long readAhead;
    private final Duration stallTimeout;
    private final String what;
    /** Sees every byte as it arrives, on the HTTP client's thread, once {@link #hashWith} armed it. */
    private volatile java.security.MessageDigest hasher;
    private final CompletableFuture<InputStream> body = new CompletableFuture<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();
    private Flow.Subscription subscription;
    private long queued;
    private long requested;
    private boolean complete;
    private Throwable failure;
    private boolean closed;
    private HttpTimeoutException stalled;
    private ByteBuffer current;

    /**
     * @param readAhead    bytes queued before the connection is asked for no more
     * @param stallTimeout the longest a read waits for the next byte
     * @param what         names the blob in a timeout's message
     */
    BlobBody(long readAhead, Duration stallTimeout, String what) {
        this.readAhead = readAhead;
        this.stallTimeout = stallTimeout;
        this.what = what;
    }

    /** A handler that hands out a new subscriber per response. */
    static HttpResponse.BodyHandler<InputStream> handler(long readAhead, Duration stallTimeout, String what) {
        return info -> new BlobBody(readAhead, stallTimeout, what);
    }

    /**
     * From now on, {@code h} is updated with every byte of the body, in order, as it arrives on the
     * HTTP client's thread, so that the reader (a pull's busiest thread) need not hash; what arrived
     * already is hashed now. Call it once the response is accepted and before the first read: the
     * body of a response that is then refused (a mirror's error page, a wrong length) never reaches
     * {@code h}.
     */
    void hashWith(java.security.MessageDigest h) {
        lock.lock();
        try {
            if (current != null) {
                throw new IllegalStateException("hashWith after a read");
            }
            for (ByteBuffer b : queue) {
                h.update(b.duplicate());
            }
            hasher = h;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ subscriber side

    @Override
    public CompletionStage<InputStream> getBody() {
        return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        lock.lock();
        try {
            subscription = s;
            if (closed) {
                s.cancel();
                return;
            }
            requested = 1;
        } finally {
            lock.unlock();
        }
        body.complete(this);
        s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        // Hashed before they are queued and outside the lock, which the reader (the busier thread)
        // needs for every read; onNext calls come one at a time, so the order is the body's.
        java.security.MessageDigest h = hasher;
        if (h != null) {
            hash(h, buffers);
        }
        boolean more;
        lock.lock();
        try {
            requested--;
            if (closed) {
                return;
            }
            if (h == null && hasher != null) {
                hash(hasher, buffers); // armed since: hashWith saw the queue without these
            }
            for (ByteBuffer b : buffers) {
                if (b.hasRemaining()) {
                    queue.add(b);
                    queued += b.remaining();
                }
            }
            arrived.signalAll();
            more = wantMore();
        } finally {
            lock.unlock();
        }
        if (more) {
            subscription.request(1);
        }
    }

    private static void hash(java.security.MessageDigest h, List<ByteBuffer> buffers) {
        for (ByteBuffer b : buffers) {
            h.update(b.duplicate());
        }
    }

    @Override
    public void onError(Throwable t) {
        lock.lock();
        try {
            failure = t;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        body.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
        lock.lock();
        try {
            complete = true;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: may one more buffer be requested? Marks it requested if so. */
    private boolean wantMore() {
        if (complete || failure != null || closed || requested > 0 || queued >= readAhead) {
            return false;
        }
        requested++;
        return true;
    }

    // ------------------------------------------------------------------ reader side

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
        int n = 0;
        boolean more;
        lock.lock();
        try {
            if (current == null || !current.hasRemaining()) {
                current = next();
                if (current == null) {
                    return -1;
                }
            }
            // Copy as much as is queued without waiting again: fewer, larger reads downstream.
            while (n < len) {
                if (!current.hasRemaining()) {
                    current = queue.poll();
                    if (current == null) {
                        break;
                    }
                }
                int k = Math.min(len - n, current.remaining());
                current.get(b, off + n, k);
                n += k;
                queued -= k;
            }
            more = wantMore();
        } finally {
            lock.unlock();
        }
        if (more) {
            subscription.request(1);
        }
        return n;
    }

    /** Under the lock: the next non-empty buffer, waiting for it; null at the end of the body. */
    private ByteBuffer next() throws IOException {
        long deadline = System.nanoTime() + stallTimeout.toNanos();
        while (true) {
            if (stalled != null) {
                throw stalled; // every later read says why, too
            }
            if (closed) {
                throw new IOException(what + ": stream closed");
            }
            ByteBuffer b = queue.poll();
            if (b != null) {
                return b;
            }
            if (failure != null) {
                throw failure instanceof IOException io ? io : new IOException(what + ": " + failure, failure);
            }
            if (complete) {
                return null;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                closed = true;
                Flow.Subscription s = subscription;
                if (s != null) {
                    s.cancel();
                }
                stalled = new HttpTimeoutException(what + ": no data received for " + stallTimeout.toSeconds()
                        + " s (images.download_timeout_seconds): the registry stalled mid-download");
                throw stalled;
            }
            try {
                arrived.awaitNanos(Math.min(left, TimeUnit.SECONDS.toNanos(1)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException(what + ": interrupted");
            }
        }
    }

    @Override
    public int available() {
        lock.lock();
        try {
            return (int) Math.min(Integer.MAX_VALUE, queued);
        } finally {
            lock.unlock();
        }
    }

    /** Drops what is queued; a body not read to its end cancels the download (the connection closes). */
    @Override
    public void close() {
        Flow.Subscription s;
        boolean cancel;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            cancel = !complete && failure == null;
            queue.clear();
            queued = 0;
            current = null;
            s = subscription;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        if (cancel && s != null) {
            s.cancel();
        }
    }
}
