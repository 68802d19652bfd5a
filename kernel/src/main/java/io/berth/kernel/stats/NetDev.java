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

    /**
     * Parses the file's text. A loop over characters rather than split and a regex: a shim parses
     * its container's file for every stats sample, interpreted, where the regex split was most of
     * the sample's cost after the cgroup files.
     */
    public static List<Interface> parse(String text) {
        var out = new ArrayList<Interface>();
        long[] f = new long[16];
        int at = 0;
        int len = text.length();
        while (at < len) {
            int end = text.indexOf('\n', at);
            if (end < 0) end = len;
            int colon = text.indexOf(':', at);
            // The two header lines have '|' but no ':'.
            if (colon >= 0 && colon < end && fields(text, colon + 1, end, f)) {
                out.add(new Interface(text.substring(at, colon).strip(), f[0], f[1], f[2], f[3], f[8], f[9], f[10], f[11]));
            }
            at = end + 1;
        }
        return out;
    }

    /** The 16 whitespace-separated counters of text[from, to) into {@code f}; false if it has not 16 numbers. */
    private static boolean fields(String text, int from, int to, long[] f) {
        int n = 0;
        int i = from;
        while (true) {
            while (i < to && text.charAt(i) <= ' ') i++;
            if (i == to) return n >= 16;
            if (n == 16) return true; // more columns than proc(5) lists: the first 16 are these
            long v = 0;
            int start = i;
            while (i < to && text.charAt(i) > ' ') {
                int d = text.charAt(i) - '0';
                if (d < 0 || d > 9 || i - start >= 19) return false;
                v = v * 10 + d;
                i++;
            }
            f[n++] = v;
        }
    }
}
