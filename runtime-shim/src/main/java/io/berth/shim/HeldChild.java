package io.berth.shim;

import io.berth.kernel.Errno;
import io.berth.kernel.Fd;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * A process posix_spawn'ed by a thread that waits in posix_spawn meanwhile: glibc's vfork child,
 * held before exec by a file action that opens a FIFO (a start gate), and known to the shim only
 * as that thread's child until posix_spawn returns.
 */
final class HeldChild {
    private HeldChild() {
    }

    /**
     * The child of thread {@code tid} of this process, as soon as it shows in the thread's children
     * list; if posix_spawn returns first ({@code spawned}: it failed, e.g. the gate could not be
     * opened), its result or failure.
     */
    static int find(int tid, CompletableFuture<Integer> spawned) throws IOException {
        Path children = Path.of("/proc/self/task/" + tid + "/children");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            String s = Files.exists(children) ? Files.readString(children).trim() : "";
            if (!s.isEmpty()) {
                return Integer.parseInt(s.split("\\s+")[0]);
            }
            if (spawned.isDone()) {
                return await(spawned, "spawn");
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("spawn: no child of thread " + tid + " after 30 s");
            }
            // Not a busy spin: on a 2-CPU node it would compete with the spawning thread itself.
            LockSupport.parkNanos(200_000);
        }
    }

    /**
     * Opens the write end of a start gate, which lets its child go on to exec. O_NONBLOCK: a
     * reader blocked in open() counts as a reader (fifo(7)), and no reader gives ENXIO instead of
     * blocking here for ever. No reader yet is normal for a moment: the held child opens the gate
     * as the first step of its posix_spawn, which may not have run yet. While it still may (posix_spawn has not returned),
     * try again; once posix_spawn has failed, the child is gone and ENXIO is the answer.
     */
    static Fd openGate(Path gate, CompletableFuture<Integer> spawned) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                return Syscalls.open(gate, Syscalls.O_WRONLY | Syscalls.O_NONBLOCK);
            } catch (SyscallException e) {
                if (e.errno() != Errno.ENXIO || spawned.isDone() || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SyscallException("open", gate + " (interrupted)", Errno.EINTR);
            }
        }
    }

    /** The future's value within 60 s; its failure as an IOException with the cause's message. */
    static <T> T await(CompletableFuture<T> f, String what) throws IOException {
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw new IOException(c.getMessage(), c);
        } catch (TimeoutException e) {
            throw new IOException(what + ": timed out after 60 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(what + ": interrupted");
        }
    }
}
