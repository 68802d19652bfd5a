package io.berth.shim;

import io.berth.shim.api.ExecRequest;
import io.berth.shim.api.ShimClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * The shim's benchmark, run as its own JVM by e2e's ShimSuite (bin/bench shim); needs root.
 * Prints one line per figure: {@code FIG|name|unit|note|v1,v2,...}.
 */
public final class ShimBench {
    static final int N = 20;

    private ShimBench() {
    }

    public static void main(String[] args) throws Exception {
        Path scratch = Files.createDirectories(Path.of(args[0]));
        try (var tc = new TestContainers(scratch)) {
            // warm the page cache and the overlay code path once
            var w = tc.launch(tc.spec("warm", "true").build());
            w.start();
            TestContainers.awaitExit(w, Duration.ofSeconds(30));

            double[] start = new double[N];
            for (int i = 0; i < N; i++) {
                long t0 = System.nanoTime();
                ShimClient c = tc.launch(tc.spec("s" + i, "exec sleep 1000").build());
                c.start(); // returns once the process has exec'd: it runs
                start[i] = (System.nanoTime() - t0) / 1e6;
            }
            print("shim launch → CREATED → Start → running", "ms", "sequential, JVM start included", start);

            Thread.sleep(4000); // start-up garbage and JIT settle, as in the spike's measurement
            double[] pss = new double[N];
            for (int i = 0; i < N; i++) {
                long pid = Long.parseLong(Files.readString(tc.bundle("s" + i).resolve("shim.pid")).split(" ")[0]);
                pss[i] = kib(pid) / 1024.0;
            }
            print("shim PSS each, 20 running, unshared", "MiB", "smaps_rollup of the shim JVM (container excluded), before"
                    + " KSM merges anything; the pods suite gives the shared figure", pss);

            ShimClient c = ShimClient.connect(tc.bundle("s0"));
            double[] exec = new double[N];
            for (int i = 0; i < N + 5; i++) {
                long t0 = System.nanoTime();
                var r = c.exec(ExecRequest.newBuilder().addArgs("true").setTimeoutMs(10000).build());
                if (r.getExitCode() != 0) throw new IllegalStateException("exec true exited " + r.getExitCode());
                if (i >= 5) exec[i - 5] = (System.nanoTime() - t0) / 1e6;
            }
            print("shim exec `true` round trip", "ms", "after 5 warm-up execs", exec);
        }
    }

    static long kib(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
            if (line.startsWith("Pss:")) return Long.parseLong(line.substring(4).trim().split("\\s+")[0]);
        }
        throw new IllegalStateException("no Pss for " + pid);
    }

    private static void print(String name, String unit, String note, double[] values) {
        var j = new StringJoiner(",");
        for (double v : values) j.add(Double.toString(v));
        System.out.println("FIG|" + name + "|" + unit + "|" + note + "|" + j);
        System.out.flush();
    }

}
