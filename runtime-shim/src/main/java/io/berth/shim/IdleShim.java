package io.berth.shim;

import io.berth.kernel.Processes;
import io.berth.kernel.Syscalls;
import io.berth.kernel.UnixSocket;
import io.berth.shim.api.Empty;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.ShimPool;
import io.berth.shim.api.ShimRequest;
import io.berth.shim.api.ShimResponse;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pre-started shim of the agent's warm pool ({@link ShimPool}), before it has a container: it has
 * already paid the JVM's start-up and {@link ShimMain#warmUp}, listens on SLOT/pool.sock and waits
 * for one {@code AdoptRequest}. Then it writes BUNDLE/shim.pid, moves its log to BUNDLE/shim.log,
 * answers, and from there on is that bundle's shim like any launched one.
 *
 * <p>Its stdin is a pipe from the agent that started it, which never writes to it: EOF there while
 * still idle means that agent is gone, and nobody will adopt this shim, so it exits (an agent
 * killed with SIGKILL leaves no idle JVMs behind). Once adopted it ignores that pipe: a container's
 * shim outlives the agent.
 */
final class IdleShim {
    private static final int IDLE = 0;
    private static final int ADOPTED = 1;
    private static final int LEAVING = 2;
    private static final AtomicInteger STATE = new AtomicInteger(IDLE);
    /**
     * How long an idle shim waits unadopted before it collects its warm-up's garbage. Collected at
     * once, an idle shim's young generation was full when its container came, and the GC that
     * followed (2-4 ms, every thread stopped) fell in the middle of CreateContainer; with an empty
     * eden (of 3 MiB, see ShimJvm.FLAGS) a create allocates without one. But that full GC is ~4.5 ms
     * of CPU of every shim start, and in a burst, where a shim is adopted within a fraction of a
     * second of being ready, it was CPU the next pods' creates waited for. Without it the warm-up's
     * garbage and a create still fit in eden (GC logs of a 20-pod burst: no GC between adoption and
     * running; each shim's first young GC, 2-6 ms, came a minute later). So a shim collects only
     * once it has waited this long: pods that come one at a time still find an emptied eden. A
     * burst's shims pay their first young GC (a pause of a few ms) in some later request instead;
     * collecting them with their after-Start chores was measured too, and held ~0.5 MiB more per
     * shim (PSS with KSM, the whole live set promoted to the old generation).
     */
    static final long IDLE_GC_DELAY_MS = 2000;

    private IdleShim() {
    }

    /** Serves SLOT/pool.sock until adopted; returns the bundle, with its shim.pid written. */
    static Path awaitAdoption(Path slot) throws IOException {
        Thread.ofPlatform().name("agent-watch").daemon(true).start(IdleShim::watchAgent);
        Path sock = slot.resolve(ShimPool.SOCKET);
        Path tmp = slot.resolve(".pool.sock.tmp");
        Files.deleteIfExists(tmp);
        try (var server = UnixSocket.listen(tmp)) {
            ShimMain.writePid(slot);
            // Listening before the name appears: a pool that sees the socket can connect.
            Files.move(tmp, sock, StandardCopyOption.ATOMIC_MOVE);
            // The accepting thread alone back at nice 0 (the JVM's start-up ran at 19, see
            // ShimLauncher.startIdle): blocked in accept it costs nothing, and on adoption it runs
            // the container's create, in the agent's autogroup until setsid, where any nice-0
            // thread of the agent would otherwise take the CPU from it.
            Processes.setNiceOfThread(Syscalls.gettid(), 0);
            Log.mark("idle");
            Log.timeline("idle pool shim ready in " + slot);
            if (!server.awaitReadable(IDLE_GC_DELAY_MS) && STATE.get() == IDLE) {
                System.gc();
                Log.mark("collected");
            }
            while (true) {
                try (UnixSocket ch = server.accept()) {
                    ShimRequest req = ShimRequest.parseDelimitedFrom(ch.in());
                    if (req == null) continue;
                    OutputStream out = ch.out();
                    switch (req.getRequestCase()) {
                        case ADOPT -> {
                            if (!STATE.compareAndSet(IDLE, ADOPTED)) {
                                reply(out, ShimResponse.newBuilder().setError("idle shim is exiting").build());
                                continue;
                            }
                            Log.restart();
                            Path bundle = Path.of(req.getAdopt().getBundle()).toAbsolutePath();
                            Processes.setsid();
                            reniceAll();
                            ShimMain.writePid(bundle);
                            Files.deleteIfExists(sock);
                            Files.deleteIfExists(slot.resolve(ShimClient.PID));
                            redirectLog(bundle.resolve(ShimClient.LOG));
                            Log.info("adopted from pool slot " + slot + " for bundle " + bundle);
                            reply(out, ShimResponse.newBuilder().setEmpty(Empty.getDefaultInstance()).build());
                            Log.mark("replied");
                            return bundle;
                        }
                        case SHUTDOWN -> {
                            STATE.set(LEAVING);
                            reply(out, ShimResponse.newBuilder().setEmpty(Empty.getDefaultInstance()).build());
                            leave(slot);
                        }
                        default -> reply(out, ShimResponse.newBuilder().setError("idle pool shim: "
                                + req.getRequestCase() + " before adoption").build());
                    }
                } catch (IOException e) {
                    Log.warn("pool request: " + e.getMessage());
                }
            }
        }
    }

    /**
     * The rest of the move from the agent's session at nice 19 (see {@code ShimLauncher.startIdle})
     * to a container's shim, right after the session of its own (setsid, so that it outlives the
     * agent like a launched shim): normal priority for every thread, the JVM's own (VM thread,
     * compiler, cleaners) too. The new session's process group is this JVM alone, so one
     * setpriority(PRIO_PGRP) does it; a walk of /proc/self/task in a thread of its own had cost
     * ~2.4 ms of interpreted CPU per adoption (perf, a 20-pod burst).
     */
    private static void reniceAll() {
        try {
            Processes.setNiceOfProcessGroup(0);
        } catch (RuntimeException e) {
            Log.warn("renice the shim's threads to 0: " + e.getMessage());
        }
    }

    private static void reply(OutputStream out, ShimResponse r) throws IOException {
        r.writeDelimitedTo(out);
        out.flush();
    }

    /** From here on the shim's own log lines go to the bundle, where the agent looks for them. */
    private static void redirectLog(Path log) throws IOException {
        var stream = new PrintStream(new FileOutputStream(log.toFile(), true), true);
        System.setErr(stream);
        System.setOut(stream);
    }

    private static void watchAgent() {
        try {
            while (System.in.read() >= 0) {
                // the agent never writes; nothing to do
            }
        } catch (IOException e) {
            // treated as EOF
        }
        if (STATE.compareAndSet(IDLE, LEAVING)) {
            Log.info("the agent that started this idle shim is gone: exiting");
            ShimMain.exit(0);
        }
    }

    private static void leave(Path slot) {
        try {
            Files.deleteIfExists(slot.resolve(ShimPool.SOCKET));
            Files.deleteIfExists(slot.resolve(ShimClient.PID));
        } catch (IOException e) {
            Log.warn("remove " + slot + ": " + e.getMessage());
        }
        ShimMain.exit(0);
    }
}
