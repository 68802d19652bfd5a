package io.berth.agent.events;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerListener;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Fans container lifecycle changes out to subscribers (kubelet's evented PLEG, crictl events).
 * Publishing never blocks the runtime: each subscriber has a bounded queue, and one that falls
 * that far behind (slow, stuck or gone without closing) is dropped and told so; kubelet then falls
 * back to relisting and subscribes again. Events of one container reach a subscriber in the order
 * they happened (the container manager announces changes one at a time).
 */
public final class ContainerEvents implements ContainerListener {
    /** Default queue per subscriber: far above the burst of one pod start (a few events per container). */
    public static final int DEFAULT_CAPACITY = 1024;

    public record Event(Change change, Container container, long createdAt) {
    }

    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();

    @Override
    public void changed(Change change, Container container) {
        var i = java.time.Instant.now();
        var event = new Event(change, container, i.getEpochSecond() * 1_000_000_000L + i.getNano());
        for (Subscriber s : subscribers) {
            if (!s.queue.offer(event)) {
                s.overflowed = true;
                subscribers.remove(s);
            }
        }
    }

    public Subscriber subscribe(int capacity) {
        var s = new Subscriber(this, capacity);
        subscribers.add(s);
        return s;
    }

    public int subscribers() {
        return subscribers.size();
    }

    /** Thrown by {@link Subscriber#next} once the subscriber has been dropped for falling behind. */
    public static final class OverflowException extends Exception {
        OverflowException(int capacity) {
            super("event subscriber fell " + capacity + " events behind and was dropped; subscribe again");
        }
    }

    public static final class Subscriber implements AutoCloseable {
        private final ContainerEvents owner;
        private final ArrayBlockingQueue<Event> queue;
        private final int capacity;
        private volatile boolean overflowed;

        private Subscriber(ContainerEvents owner, int capacity) {
            this.owner = owner;
            this.capacity = capacity;
            this.queue = new ArrayBlockingQueue<>(capacity);
        }

        /**
         * The next event, or null after {@code timeoutMs} without one. Once dropped, the events
         * still queued are not delivered: the stream has a gap, so the subscriber must relist.
         */
        public Event next(long timeoutMs) throws OverflowException, InterruptedException {
            if (overflowed) throw new OverflowException(capacity);
            Event e = queue.poll(timeoutMs, TimeUnit.MILLISECONDS);
            if (overflowed) throw new OverflowException(capacity);
            return e;
        }

        @Override
        public void close() {
            owner.subscribers.remove(this);
        }
    }
}
