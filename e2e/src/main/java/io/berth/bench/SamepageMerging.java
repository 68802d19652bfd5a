package io.berth.bench;

import io.berth.kernel.MemorySharing;
import io.berth.kernel.Processes;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * KSM for the shim memory figures. Shims that share memory (the agent's default) only share it
 * once ksmd has scanned them: a page is merged on the second full scan that finds it unchanged.
 * So the figure a node lives with is the one after two full scans past the last shim's start,
 * at the kernel's own pace ({@code pages_to_scan}, {@code sleep_millisecs}). The bench also gives
 * ksmd's CPU time meanwhile, which is what the sharing costs. (The node's {@code run} setting,
 * which the agent turns on, is put back by {@code AgentProcess} when the agent stops.)
 */
final class SamepageMerging {
    private static final long SETTLE_LIMIT_MS = 180_000;

    private SamepageMerging() {
    }

    /**
     * Waits until ksmd has made two full scans (or {@link #SETTLE_LIMIT_MS}), adding the time it
     * took and ksmd's CPU use to {@code figures}. False when KSM is absent or stopped.
     */
    static boolean awaitSettled(Figures figures) throws Exception {
        var ksm = MemorySharing.ksm();
        if (ksm == null || !ksm.running()) {
            figures.value("KSM", "", 0, ksm == null ? "this kernel has no KSM: shims share nothing" : "ksmd is not running");
            return false;
        }
        long cpu0 = ksmdCpuTicks();
        long t0 = System.nanoTime();
        long target = ksm.fullScans() + 2;
        while (MemorySharing.ksm().fullScans() < target && (System.nanoTime() - t0) / 1_000_000 < SETTLE_LIMIT_MS) {
            Thread.sleep(200);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpu = (ksmdCpuTicks() - cpu0) / 100.0;
        var now = MemorySharing.ksm();
        figures.value("KSM: two full scans after the last start", "s", seconds, "pages_to_scan "
                + Files.readString(MemorySharing.KSM.resolve("pages_to_scan")).trim() + ", sleep_millisecs "
                + Files.readString(MemorySharing.KSM.resolve("sleep_millisecs")).trim()
                + (now.fullScans() < target ? "; gave up waiting" : ""));
        figures.value("  ksmd CPU meanwhile", "% of a core", 100 * cpu / seconds, "pages_sharing " + now.pagesSharing());
        return true;
    }

    /** ksmd's CPU time (utime + stime, clock ticks of 10 ms), or 0 if it cannot be found. */
    static long ksmdCpuTicks() throws Exception {
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    if (!Files.readString(p.resolve("comm")).trim().equals("ksmd")) continue;
                    var stat = Processes.stat(Long.parseLong(p.getFileName().toString()));
                    return stat.number(14) + stat.number(15); // utime, stime (proc(5))
                } catch (java.io.IOException gone) {
                    // a process that ended meanwhile
                }
            }
        }
        return 0;
    }
}
