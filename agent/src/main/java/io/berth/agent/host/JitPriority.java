package io.berth.agent.host;

import io.berth.agent.log.Log;
import io.berth.kernel.JitThreads;
import io.berth.kernel.SyscallException;
import java.io.IOException;

/**
 * The JIT compiles at the lowest CPU priority (nice 19). The agent's work comes in bursts (a pull,
 * a pod's start), and each burst still finds methods to compile for a long time: measured, after
 * 20 pulls of one image each further pull had 20-40 ms of C2 time, on a node with two cores
 * competing with the pull's own threads (decompression, tar writing). At nice 19 the compilers
 * take what the agent leaves over; the code they make arrives a little later. Measured in an A/B of
 * 30 cold pulls of the bench's ~5 MB image, one every 0.3 s: medians 105 and 115 ms at nice 0, 98
 * and 105 ms at nice 19. The compiler threads HotSpot adds later inherit it ({@link JitThreads}).
 */
public final class JitPriority {
    private static final Log LOG = Log.get(JitPriority.class);
    public static final int NICE = 19;

    private JitPriority() {
    }

    /** Lowers this JVM's compiler threads to nice 19; never fails the agent's start. */
    public static void lower() {
        try {
            LOG.debug("JIT compiler threads at nice " + NICE, "threads", JitThreads.renice(NICE));
        } catch (IOException | SyscallException e) {
            LOG.warn("JIT compiler threads keep their priority", "error", e.getMessage());
        }
    }
}
