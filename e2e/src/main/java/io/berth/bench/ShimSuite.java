package io.berth.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The runtime shim on its own, as the agent drives it (ShimLauncher/ShimClient): launch → CREATED
 * → Start → process running, over 20 containers; the PSS each running shim adds with 20 running;
 * the exec `true` round trip. Runs runtime-shim's ShimBench in its own JVM (the e2e module does not
 * link the shim), on a busybox rootfs. Needs root and a built tree (runtime-shim/target/shim-lib
 * and test-classes).
 */
final class ShimSuite implements Suite {
    @Override
    public String name() {
        return "shim";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        if (new com.sun.security.auth.module.UnixSystem().getUid() != 0) {
            System.err.println("bench: shim suite skipped: needs root");
            return;
        }
        Path home = Path.of(System.getenv().getOrDefault("BERTH_HOME", "."));
        Path lib = home.resolve("runtime-shim/target/shim-lib");
        Path tests = home.resolve("runtime-shim/target/test-classes");
        if (!Files.isDirectory(lib) || !Files.isDirectory(tests)) {
            throw new IllegalStateException("shim suite needs " + lib + " and " + tests + ": build with ./mvnw -DskipTests package");
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", lib + "/*:" + tests,
                "-Dberth.shimLib=" + lib, "io.berth.shim.ShimBench", scratch.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        var lines = new ArrayList<String>();
        try (var r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("FIG|")) lines.add(line);
            }
        }
        if (p.waitFor() != 0) {
            throw new IllegalStateException("ShimBench exited with " + p.exitValue());
        }
        for (String line : lines) {
            String[] f = line.split("\\|", 5);
            List<String> vs = List.of(f[4].split(","));
            double[] values = vs.stream().mapToDouble(Double::parseDouble).toArray();
            figures.samples(f[1], f[2], values, f[3]);
        }
    }
}
