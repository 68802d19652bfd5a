package io.berth.bench;

import io.berth.e2e.AgentProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The agent itself: cold start to the first answered Version, and its memory when idle. */
final class AgentSuite implements Suite {
    static final int STARTS = 10;

    @Override
    public String name() {
        return "agent";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        double[] startMs = new double[STARTS];
        for (int i = 0; i < STARTS; i++) {
            long t0 = System.nanoTime();
            try (var agent = AgentProcess.launch(scratch.resolve("start-" + i))) {
                agent.awaitReady(Duration.ofSeconds(60));
                startMs[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        figures.samples("agent cold start to first Version", "ms", startMs, "launch of the JVM included");

        try (var agent = AgentProcess.start(scratch.resolve("idle"))) {
            Thread.sleep(3000); // let start-up garbage and JIT settle
            figures.value("agent RSS idle", "MiB", kib(agent.pid(), "VmRSS:", "status") / 1024.0, "");
            figures.value("agent PSS idle", "MiB", kib(agent.pid(), "Pss:", "smaps_rollup") / 1024.0, "");
        }
    }

    /** A kB figure from /proc/PID/FILE, e.g. VmRSS from status or Pss from smaps_rollup. */
    static long kib(long pid, String key, String file) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/" + file))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException(key + " not in /proc/" + pid + "/" + file);
    }
}
