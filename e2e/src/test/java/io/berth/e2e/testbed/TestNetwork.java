package io.berth.e2e.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A pod network of the test's own: a bridge, a CIDR and a firewall table named after the test run,
 * so that nothing clashes with the host's network or with another run, and all of it is removed
 * afterwards.
 */
final class TestNetwork {
    private TestNetwork() {
    }

    static String bridge(String tag) {
        return "bt" + tag;
    }

    /**
     * Agent flags: a config file in {@code dir} beginning with {@code topLevel} (TOML keys outside any table, then
     * tables other than {@code [network]}) and ending with this run's network settings.
     */
    static String[] flags(Path dir, String tag, String topLevel) throws IOException {
        // In the testbed's directory, which goes with it: a JVM that ends abruptly leaves no file behind.
        Path config = dir.resolve("berth-net.toml");
        Files.writeString(config, topLevel + """

                [network]
                bridge = "%s"
                pod_cidrs = ["10.217.%d.0/24"]
                firewall_table = "berth_%s"
                """.formatted(bridge(tag), Math.floorMod(tag.hashCode(), 200) + 10, tag));
        return new String[] {"--config", config.toString()};
    }

    /** Removes the run's bridge and firewall table (the agent leaves them for pods that survive it). */
    static void cleanUp(String tag) throws IOException, InterruptedException {
        run(List.of("ip", "link", "del", bridge(tag)));
        run(List.of("nft", "delete", "table", "inet", "berth_" + tag));
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    }
}
