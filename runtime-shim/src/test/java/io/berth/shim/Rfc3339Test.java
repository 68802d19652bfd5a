package io.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Rfc3339Test {
    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);

    /** The same text as java.time's formatter, with Go's trimmed fraction. */
    private static String reference(Instant t) {
        String frac = "";
        if (t.getNano() != 0) {
            frac = "." + String.format("%09d", t.getNano()).replaceAll("0+$", "");
        }
        return SECONDS.format(t) + frac + "Z";
    }

    @Test
    void edgesOfDaysMonthsYearsAndLeapYears() {
        for (String s : new String[] {"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z", "2000-02-29T12:00:00.5Z",
                "1900-03-01T00:00:00Z", "2024-02-29T23:59:59.000000001Z", "2024-12-31T23:59:59Z", "2100-03-01T00:00:00Z",
                "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.123456789Z"}) {
            assertEquals(s, Rfc3339.format(Instant.parse(s)));
        }
    }

    @Test
    void agreesWithJavaTimeOverAMillionRandomInstants() {
        var random = new SplittableRandom(42);
        long min = Instant.parse("0001-01-01T00:00:00Z").getEpochSecond();
        long max = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
        for (int i = 0; i < 1_000_000; i++) {
            int nanos = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                default -> random.nextInt(1_000_000_000);
            };
            Instant t = Instant.ofEpochSecond(random.nextLong(min, max + 1), nanos);
            assertEquals(reference(t), Rfc3339.format(t), () -> t.getEpochSecond() + "s " + t.getNano() + "ns");
        }
    }
}
