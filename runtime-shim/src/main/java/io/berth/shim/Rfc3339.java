package io.berth.shim;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Go's {@code time.RFC3339Nano} in UTC ({@code 2024-01-02T03:04:05.000000001Z}: fractional seconds
 * without trailing zeros, none when zero), written straight into a byte array. The CRI log puts one
 * before every line a container writes; {@code DateTimeFormatter} and {@code String.format} cost
 * a shim ~3 ms of interpreted start-up to set up and then tens of microseconds a line.
 */
final class Rfc3339 {
    /** The longest timestamp: 20 characters plus a dot and nine digits. */
    static final int MAX_LENGTH = 30;

    private Rfc3339() {
    }

    static String format(Instant t) {
        byte[] b = new byte[MAX_LENGTH];
        int n = format(t.getEpochSecond(), t.getNano(), b, 0);
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }

    /** Writes the timestamp at {@code off}; returns the offset after it. Years 0 to 9999. */
    static int format(long epochSecond, int nanos, byte[] b, int off) {
        long days = Math.floorDiv(epochSecond, 86_400);
        int secondOfDay = (int) Math.floorMod(epochSecond, 86_400);
        // Days since 1970-01-01 to a civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        long z = days + 719_468;
        long era = Math.floorDiv(z, 146_097);
        int dayOfEra = (int) (z - era * 146_097);
        int yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
        int dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
        int mp = (5 * dayOfYear + 2) / 153;
        int day = dayOfYear - (153 * mp + 2) / 5 + 1;
        int month = mp < 10 ? mp + 3 : mp - 9;
        long year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
        off = digits(b, off, year, 4);
        b[off++] = '-';
        off = digits(b, off, month, 2);
        b[off++] = '-';
        off = digits(b, off, day, 2);
        b[off++] = 'T';
        off = digits(b, off, secondOfDay / 3600, 2);
        b[off++] = ':';
        off = digits(b, off, secondOfDay / 60 % 60, 2);
        b[off++] = ':';
        off = digits(b, off, secondOfDay % 60, 2);
        if (nanos != 0) {
            int width = 9;
            while (nanos % 10 == 0) {
                nanos /= 10;
                width--;
            }
            b[off++] = '.';
            off = digits(b, off, nanos, width);
        }
        b[off++] = 'Z';
        return off;
    }

    private static int digits(byte[] b, int off, long value, int width) {
        for (int i = off + width - 1; i >= off; i--) {
            b[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        return off + width;
    }
}
