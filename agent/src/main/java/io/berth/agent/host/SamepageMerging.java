package io.berth.agent.host;

import io.berth.agent.log.Log;
import io.berth.kernel.MemorySharing;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The kernel's samepage merging (KSM) for shims ({@code shim_memory_sharing}): shims mark their
 * memory mergeable, but nothing is merged unless ksmd runs, a node-wide switch
 * ({@code /sys/kernel/mm/ksm/run}) that is off by default. The agent turns it on when it finds it
 * off, and leaves it on when it stops: the shims it started outlive it. Its pace
 * ({@code pages_to_scan}, {@code sleep_millisecs}, the scan-time advisor) stays the operator's.
 * A {@code run} of 2 (unmerge everything) is an operator's explicit choice and is left alone.
 */
public final class SamepageMerging {
    private static final Log LOG = Log.get(SamepageMerging.class);

    private SamepageMerging() {
    }

    /** Starts ksmd if it is stopped; never fails the agent's start. */
    public static void start() {
        try {
            var ksm = MemorySharing.ksm();
            if (ksm == null) {
                LOG.warn("this kernel has no KSM (CONFIG_KSM): shims cannot share memory", "path", MemorySharing.KSM);
            } else if (ksm.run() == 0) {
                MemorySharing.setKsmRun(1);
                LOG.info("started the kernel's samepage merging (ksmd) so that shims share memory",
                        "path", MemorySharing.KSM.resolve("run"), "was", 0);
            } else if (ksm.running()) {
                LOG.info("the kernel's samepage merging (ksmd) runs: shims share memory", "pages_sharing", ksm.pagesSharing());
            } else {
                LOG.warn("KSM is set to unmerge (run = " + ksm.run() + "): shims will not share memory",
                        "path", MemorySharing.KSM.resolve("run"));
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("cannot start KSM: shims will not share memory", "error", e.getMessage());
        }
    }
}
