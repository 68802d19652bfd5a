package io.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriLogTest {
    @TempDir
    Path dir;

    private final Clock clock = Clock.fixed(Instant.parse("2024-01-02T03:04:05.120000000Z"), ZoneOffset.UTC);

    private static void write(CriLog log, CriLog.Stream s, String text) throws Exception {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        log.write(s, b, 0, b.length);
    }

    @Test
    void linesAreFramedPerStreamWithGoRfc3339NanoTimestamps() throws Exception {
        Path f = dir.resolve("c.log");
        try (var log = new CriLog(f, clock)) {
            write(log, CriLog.Stream.STDOUT, "hel");
            write(log, CriLog.Stream.STDERR, "oops\n");
            write(log, CriLog.Stream.STDOUT, "lo\nworld\n\nlast");
            log.endOf(CriLog.Stream.STDOUT);
        }
        assertEquals(List.of(
                "2024-01-02T03:04:05.12Z stderr F oops",
                "2024-01-02T03:04:05.12Z stdout F hello",
                "2024-01-02T03:04:05.12Z stdout F world",
                "2024-01-02T03:04:05.12Z stdout F ",
                "2024-01-02T03:04:05.12Z stdout F last"), Files.readAllLines(f));
    }

    @Test
    void longLinesAreSplitIntoPartialRecords() throws Exception {
        Path f = dir.resolve("c.log");
        try (var log = new CriLog(f, clock)) {
            write(log, CriLog.Stream.STDOUT, "a".repeat(CriLog.MAX_LINE * 2 + 5) + "\n");
        }
        List<String> lines = Files.readAllLines(f);
        assertEquals(3, lines.size());
        assertEquals("2024-01-02T03:04:05.12Z stdout P " + "a".repeat(CriLog.MAX_LINE), lines.get(0));
        assertEquals("2024-01-02T03:04:05.12Z stdout P " + "a".repeat(CriLog.MAX_LINE), lines.get(1));
        assertEquals("2024-01-02T03:04:05.12Z stdout F aaaaa", lines.get(2));
    }

    @Test
    void reopenStartsANewFileAfterRotation() throws Exception {
        Path f = dir.resolve("c.log");
        try (var log = new CriLog(f, clock)) {
            write(log, CriLog.Stream.STDOUT, "one\n");
            Files.move(f, dir.resolve("c.log.1"));
            log.reopen();
            write(log, CriLog.Stream.STDOUT, "two\n");
        }
        assertEquals(List.of("2024-01-02T03:04:05.12Z stdout F two"), Files.readAllLines(f));
        assertEquals(List.of("2024-01-02T03:04:05.12Z stdout F one"), Files.readAllLines(dir.resolve("c.log.1")));
    }

    @Test
    void timestampsTrimTrailingZerosLikeGo() {
        assertEquals("2024-01-02T03:04:05Z", Rfc3339.format(Instant.parse("2024-01-02T03:04:05Z")));
        assertEquals("2024-01-02T03:04:05.000000001Z", Rfc3339.format(Instant.parse("2024-01-02T03:04:05.000000001Z")));
    }
}
