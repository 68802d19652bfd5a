package io.berth.kernel;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Runs thread-sensitive kernel work (unshare, setns, per-thread credentials) on a fresh platform
 * thread that does nothing else and exits afterwards, so no other work ever runs in namespaces it
 * joined (DESIGN.md: such a thread is tainted for good; never a pooled, virtual or event-loop thread).
 */
public final class DedicatedThread {
    private DedicatedThread() {
    }

    public static <T> T call(String name, Callable<T> work) throws ExecutionException, InterruptedException {
        var task = new FutureTask<>(work);
        Thread thread = Thread.ofPlatform().name(name).daemon(true).start(task);
        try {
            return task.get();
        } finally {
            thread.join();
        }
    }

    /** Runs {@code work} on a fresh thread that has joined the network namespace pinned at {@code netns}. */
    public static <T> T inNetns(java.nio.file.Path netns, Callable<T> work) throws ExecutionException, InterruptedException {
        return call("netns-" + netns.getFileName(), () -> {
            Syscalls.setns(netns, Namespace.NET);
            return work.call();
        });
    }
}
