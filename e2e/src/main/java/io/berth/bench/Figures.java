package io.berth.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The rows a benchmark run prints: one per measured figure, with its samples summarised. */
public final class Figures {
    /** One row: what was measured, its median and p95 (or a single value), its unit, and a note (target). */
    public record Row(String name, double median, double p95, String unit, int samples, String note) {
    }

    private final List<Row> rows = new ArrayList<>();

    /** Adds a row from raw samples (median and p95 are computed here). */
    public void samples(String name, String unit, double[] values, String note) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        rows.add(new Row(name, percentile(sorted, 50), percentile(sorted, 95), unit, sorted.length, note));
    }

    /** Adds a row that is a single measured value (a throughput, a memory figure). */
    public void value(String name, String unit, double value, String note) {
        rows.add(new Row(name, value, Double.NaN, unit, 1, note));
    }

    public List<Row> rows() {
        return rows;
    }

    /** The first row named {@code name}, or null. */
    Row row(String name) {
        return rows.stream().filter(r -> r.name().equals(name)).findFirst().orElse(null);
    }

    /** Nearest-rank percentile of sorted samples. */
    static double percentile(double[] sorted, int p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    public String table() {
        var out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%-58s %12s %12s %-6s %4s  %s%n", "figure", "median", "p95", "unit", "n", "note"));
        out.append("-".repeat(120)).append('\n');
        for (Row r : rows) {
            out.append(String.format(Locale.ROOT, "%-58s %12s %12s %-6s %4d  %s%n", r.name(), fmt(r.median()),
                    Double.isNaN(r.p95()) ? "" : fmt(r.p95()), r.unit(), r.samples(), r.note()));
        }
        return out.toString();
    }

    private static String fmt(double v) {
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
