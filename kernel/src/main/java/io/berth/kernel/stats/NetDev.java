package io.berth.kernel.stats;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-interface counters of one network namespace, from /proc/net/dev (proc(5)): two header lines,
 * then "NAME: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast tx_bytes
 * tx_packets tx_errs tx_drop ...". /proc/PID/net/dev shows the namespace of task PID, so a process on
 * the host reads a container's counters without entering its namespace.
 */
public final class NetDev {
    private NetDev() {
    }

    public record Interface(String name, long rxBytes, long rxPackets, long rxErrors, long rxDropped,
            long txBytes, long txPackets, long txErrors, long txDropped) {
    }

    public static List<Interface> read(Path file) throws IOException {
        return parse(Files.readString(file));
    }

    public static List<Interface> parse(String text) {
        var out = new ArrayList<Interface>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) continue; // the two header lines have '|' but no ':'
            String name = line.substring(0, colon).strip();
            String[] f = line.substring(colon + 1).strip().split("\\s+");
            if (f.length < 16) continue;
            try {
                out.add(new Interface(name, Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]),
                        Long.parseLong(f[3]), Long.parseLong(f[8]), Long.parseLong(f[9]), Long.parseLong(f[10]),
                        Long.parseLong(f[11])));
            } catch (NumberFormatException e) {
                // not a counters line
            }
        }
        return out;
    }
}
