package io.berth.shim.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.function.Function;

/**
 * A warm pool of pre-started idle shims: a shim JVM's start-up (JVM, JNA, class initialisation,
 * the default seccomp filter) takes hundreds of ms on a loaded node, far more than the container
 * work itself, so the agent keeps {@code size} shims started ahead and hands the next container to
 * one of them ({@code AdoptRequest}); a new one is started in the background to take its place
 * (once that container is created; at once in a burst, see {@link #launch}).
 * With an empty pool (size 0, or all taken and the next one still starting up) a container waits
 * for the oldest starting shim, which is never slower than launching a new one; if no shim is
 * there at all, one is launched for it as by {@link ShimLauncher#launch}.
 *
 * <p>Layout: {@code DIR/N/} per idle shim: {@code pool.sock} (appears once it is ready),
 * {@code shim.pid}, {@code shim.log} (the JVM's own output; after adoption the shim logs to its
 * bundle). Idle shims exit by themselves when the agent that started them is gone (their stdin
 * pipe from it reaches EOF), and a new pool removes whatever a previous one left in DIR.
 */
public final class ShimPool implements AutoCloseable {
    /** ShimMain's first argument for an idle shim: {@code ShimMain --idle SLOT_DIR}. */
    public static final String IDLE_FLAG = "--idle";
    /** The idle shim's socket in its slot directory. */
    public static final String SOCKET = "pool.sock";

    /**
     * Containers closer together than this are a burst: longer than a shim's start-up, so that each
     * of a burst's shims starts as soon as the one before it is taken.
     */
    private static final Duration BURST_GAP = Duration.ofSeconds(1);

    private record Slot(Path dir, Process process) {
    }

    private final Path dir;
    private final int size;
    private final boolean refill;
    private final boolean shareMemory;
    private final Function<Path, List<String>> idleCommand;
    private final Function<Path, List<String>> coldCommand;
    private final Deque<Slot> slots = new ArrayDeque<>();
    private long next;
    private long lastTake;
    private boolean closed;

    /**
     * @param dir         the pool's directory (cleared of a previous pool's leftovers)
     * @param size        idle shims kept started (0: none, every container launches its own shim)
     * @param refill      start a new idle shim for each one taken (false: the pool empties; for the
     *                    AOT training, whose shims must not multiply)
     * @param shareMemory idle shims share memory with one another ({@link ShimJvm}): started without
     *                    address randomisation
     * @param idleCommand the JVM command of an idle shim for a slot directory
     *                    ({@link ShimJvm#idleCommand})
     * @param coldCommand the command of a shim launched for a bundle when no idle one exists
     */
    public ShimPool(Path dir, int size, boolean refill, boolean shareMemory, Function<Path, List<String>> idleCommand,
            Function<Path, List<String>> coldCommand) throws IOException {
        if (size < 0) throw new IllegalArgumentException("shim pool size " + size + " is negative");
        this.dir = dir.toAbsolutePath();
        this.size = size;
        this.refill = refill;
        this.shareMemory = shareMemory;
        this.idleCommand = idleCommand;
        this.coldCommand = coldCommand;
        removeLeftovers();
        fill();
    }

    /**
     * The agent's pool: {@code size} idle shims of the distribution in {@code shimLibDir}, sharing
     * memory with one another or not ({@link ShimJvm}).
     */
    public static ShimPool start(Path shimLibDir, Path dir, int size, boolean shareMemory) throws IOException {
        return new ShimPool(dir, size, true, shareMemory, slot -> ShimJvm.idleCommand(shimLibDir, slot),
                bundle -> ShimJvm.command(shimLibDir, bundle, shareMemory));
    }

    /**
     * Has an idle shim (or, with none, a newly launched one) create the container of {@code bundle}
     * and waits until it is CREATED, as {@link ShimLauncher#launch} does.
     */
    public ShimClient launch(Path bundle, ContainerSpec spec) throws IOException, ShimException {
        Slot slot = take();
        if (slot == null) {
            return ShimLauncher.launch(coldCommand.apply(bundle.toAbsolutePath()), bundle, spec);
        }
        // Containers one at a time: the taken shim's replacement starts once this container is
        // created, so that its JVM start takes no CPU from the create. In a burst (the taken shim
        // still starting, or the last container came less than BURST_GAP ago) it starts now: the
        // next create then finds a shim that has been starting all the while (at nice 19, on CPU
        // this create leaves) instead of one started only after this create.
        boolean burst = cameInBurst(); // first: it notes this container's time either way
        burst = burst || !Files.exists(slot.dir().resolve(SOCKET));
        if (burst) startRefill();
        try {
            Path b = ShimLauncher.prepare(bundle, spec);
            if (adopt(slot, b)) {
                ShimClient client = ShimClient.connect(b);
                return ShimLauncher.awaitCreated(b, spec, client::alive, null);
            }
            return ShimLauncher.launch(coldCommand.apply(b), b, spec);
        } finally {
            if (!burst) startRefill();
        }
    }

    private void startRefill() {
        if (refill) {
            Thread.ofVirtual().name("shim-pool-refill").start(this::refill);
        }
    }

    private synchronized Slot take() {
        return slots.pollFirst();
    }

    /** Whether the previous container came less than {@link #BURST_GAP} before this one; notes this one's time. */
    private synchronized boolean cameInBurst() {
        long now = System.nanoTime();
        boolean burst = lastTake != 0 && now - lastTake < BURST_GAP.toNanos();
        lastTake = now;
        return burst;
    }

    /**
     * Hands {@code bundle} to the idle shim of {@code slot}; false (the slot's shim killed) when
     * that shim cannot take it, so the caller launches one. Once the request is sent, the bundle's
     * shim.pid says whether it was taken (written before the answer).
     */
    private boolean adopt(Slot slot, Path bundle) {
        Path sock = slot.dir().resolve(SOCKET);
        long deadline = System.nanoTime() + ShimLauncher.CREATE_TIMEOUT.toNanos();
        try {
            if (!Files.exists(sock)) {
                // Still starting, at nice 19 (ShimLauncher.startIdle), and now a container waits for
                // it: let it have the CPU like any other work of the agent.
                try {
                    io.berth.kernel.Processes.setNiceOfAllThreads(slot.process().pid(), 0);
                } catch (RuntimeException e) {
                    // it only starts more slowly
                }
            }
            while (!Files.exists(sock)) {
                if (!slot.process().isAlive() || System.nanoTime() > deadline) {
                    discard(slot);
                    return false;
                }
                Thread.sleep(1);
            }
            boolean sent = false;
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(sock));
                OutputStream out = Channels.newOutputStream(ch);
                ShimRequest.newBuilder().setAdopt(AdoptRequest.newBuilder().setBundle(bundle.toString())).build()
                        .writeDelimitedTo(out);
                out.flush();
                sent = true;
                InputStream in = Channels.newInputStream(ch);
                ShimResponse r = ShimResponse.parseDelimitedFrom(in);
                if (r == null || !r.getError().isEmpty()) {
                    throw new IOException(r == null ? "no answer" : r.getError());
                }
            } catch (IOException e) {
                if (!sent || !ShimClient.connect(bundle).alive()) {
                    discard(slot);
                    return false;
                }
            }
            // Adopted: the shim no longer watches its stdin, and its slot is done with.
            try {
                slot.process().getOutputStream().close();
            } catch (IOException e) {
                // the pipe is gone already
            }
            deleteTree(slot.dir());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            discard(slot);
            return false;
        } catch (IOException e) {
            discard(slot);
            return false;
        }
    }

    private void discard(Slot slot) {
        slot.process().destroyForcibly();
        try {
            deleteTree(slot.dir());
        } catch (IOException e) {
            // a leftover directory is removed by the next pool
        }
    }

    private void refill() {
        try {
            fill();
        } catch (IOException | RuntimeException e) {
            // the next launch without an idle shim launches its own; nothing is lost but time
            System.getLogger(ShimPool.class.getName()).log(System.Logger.Level.WARNING,
                    "start an idle shim in " + dir + ": " + e.getMessage());
        }
    }

    private synchronized void fill() throws IOException {
        while (!closed && slots.size() < size) {
            Path slot = dir.resolve(Long.toString(next++));
            Files.createDirectories(slot);
            // stdin: a pipe the shim watches for EOF, i.e. for this JVM's end (see IdleShim)
            Process p = ShimLauncher.startIdle(idleCommand.apply(slot), shareMemory, slot.resolve(ShimClient.LOG),
                    ProcessBuilder.Redirect.PIPE);
            slots.addLast(new Slot(slot, p));
        }
    }

    /** Idle shims of a previous pool (an agent killed with SIGKILL) and their directories. */
    private void removeLeftovers() throws IOException {
        Files.createDirectories(dir);
        try (var s = Files.list(dir)) {
            for (Path slot : s.toList()) {
                long[] pid = ShimClient.shimPid(slot);
                if (pid != null && ShimClient.startTime(pid[0]) == pid[1]) {
                    ProcessHandle.of(pid[0]).ifPresent(ProcessHandle::destroyForcibly);
                }
                deleteTree(slot);
            }
        }
    }

    /** Stops the idle shims; shims that have adopted a container are not the pool's any more. */
    @Override
    public synchronized void close() {
        closed = true;
        for (Slot slot : slots) {
            discard(slot);
        }
        slots.clear();
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
