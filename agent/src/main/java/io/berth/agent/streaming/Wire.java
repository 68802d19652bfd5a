package io.berth.agent.streaming;

import io.netty.channel.Channel;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Flow control between one client connection and the blocking side (shim sockets, pod sockets),
 * which runs on virtual threads: writers wait while Netty's outbound buffer is above its high
 * water mark, and reading from the client pauses while too much of its input is still queued.
 */
final class Wire {
    private static final long INBOUND_HIGH = 4 << 20;
    private static final long INBOUND_LOW = 1 << 20;

    final Channel channel;
    private final Object writable = new Object();
    private final AtomicLong inbound = new AtomicLong();

    Wire(Channel channel) {
        this.channel = channel;
    }

    /** Blocks while the connection cannot take more output (and is still open). */
    void awaitWritable() throws InterruptedException {
        synchronized (writable) {
            while (channel.isActive() && !channel.isWritable()) {
                writable.wait(100);
            }
        }
    }

    /** From the event loop, on channelWritabilityChanged. */
    void writabilityChanged() {
        synchronized (writable) {
            writable.notifyAll();
        }
    }

    /** {@code n} bytes of client input were queued for a blocking writer. */
    void received(long n) {
        if (inbound.addAndGet(n) > INBOUND_HIGH && channel.config().isAutoRead()) {
            channel.config().setAutoRead(false);
        }
    }

    /** {@code n} queued bytes were written out. */
    void consumed(long n) {
        if (inbound.addAndGet(-n) < INBOUND_LOW && !channel.config().isAutoRead()) {
            channel.config().setAutoRead(true);
        }
    }
}
