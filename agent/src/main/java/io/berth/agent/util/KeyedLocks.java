package io.berth.agent.util;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One lock per key (a sandbox or container id), so that kubelet's retries and parallel calls on one
 * object are serialised while calls on different objects run in parallel.
 */
public final class KeyedLocks {
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    public interface Held extends AutoCloseable {
        @Override
        void close();
    }

    public Held lock(String key) {
        ReentrantLock lock = locks.computeIfAbsent(key, k -> new ReentrantLock());
        lock.lock();
        return lock::unlock;
    }

    /** Forgets the lock of a removed object (only when nobody holds or waits for it). */
    public void forget(String key) {
        locks.computeIfPresent(key, (k, l) -> l.isLocked() || l.hasQueuedThreads() ? l : null);
    }
}
