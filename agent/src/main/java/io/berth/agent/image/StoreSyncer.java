package io.berth.agent.image;

import io.berth.agent.log.Log;
import io.berth.kernel.FileSystemCalls;
import java.nio.file.Path;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * The image store's one background syncer: on request, runs syncfs(2) on the store's filesystem
 * and then reports which commits it covered. Requests that arrive while a syncfs runs are
 * coalesced into the next one, so a burst of layers costs one or two syncfs calls, not one each.
 *
 * <p>{@code begin} is read <em>before</em> syncfs starts: every commit numbered up to it had
 * finished its writes by then, so the syncfs covers them (syncfs writes back all dirty data and
 * metadata of the filesystem and waits for it, man 2 syncfs). A commit numbered later may or may
 * not be covered, so it stays marked for the next round. On an error (EIO, ENOSPC) nothing is
 * cleared; the syncer logs it and tries again after {@link #RETRY_MILLIS}.
 */
final class StoreSyncer implements AutoCloseable {
    private static final Log LOG = Log.get(StoreSyncer.class);
    static final long RETRY_MILLIS = 1000;

    private final Path onFilesystem;
    private final LongSupplier begin;
    private final LongConsumer done;
    private final Thread thread;
    private boolean requested;
    private boolean closed;

    /**
     * @param begin the number of the last commit so far, read just before a syncfs starts
     * @param done  called with that number once the syncfs has returned successfully
     */
    StoreSyncer(Path onFilesystem, LongSupplier begin, LongConsumer done) {
        this.onFilesystem = onFilesystem;
        this.begin = begin;
        this.done = done;
        // A platform thread: it spends its life blocked in syncfs, which would pin a virtual thread's carrier.
        this.thread = Thread.ofPlatform().daemon().name("image-store-syncfs").unstarted(this::run);
    }

    StoreSyncer start() {
        thread.start();
        return this;
    }

    /** Asks for a syncfs soon; returns at once. */
    synchronized void request() {
        requested = true;
        notifyAll();
    }

    /** One syncfs now, on the caller's thread (a final sync at close). */
    void syncNow() {
        long upTo = begin.getAsLong();
        FileSystemCalls.syncfs(onFilesystem);
        done.accept(upTo);
    }

    private void run() {
        while (true) {
            synchronized (this) {
                while (!requested && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                requested = false;
            }
            long t0 = System.nanoTime();
            try {
                syncNow();
                LOG.debug("image store synced", "syncfs_ms", (System.nanoTime() - t0) / 1e6);
            } catch (RuntimeException e) { // SyscallException, or a persist failing in done
                LOG.warn("syncfs of the image store failed; its new layers stay marked unsynced, retrying",
                        "path", onFilesystem, "error", e.getMessage());
                synchronized (this) {
                    try {
                        wait(RETRY_MILLIS);
                    } catch (InterruptedException ie) {
                        return;
                    }
                    requested = true;
                }
            }
        }
    }

    /** Stops the thread, waiting for a syncfs in progress to end. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
