package io.berth.agent.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class LogfmtFormatterTest {
    private final LogfmtFormatter formatter = new LogfmtFormatter();

    @Test
    void fieldsAreKeyValuePairsAndQuotedWhenNeeded() {
        var record = new Log.FieldsRecord(Level.INFO, "pulled image",
                new Object[] {"ref", "docker.io/library/busybox:latest", "note", "two words \"q\"", "ms", 12});
        record.setLoggerName("io.berth.agent.image.Puller");
        String line = formatter.format(record);
        assertTrue(line.startsWith("ts="), line);
        assertTrue(line.endsWith(" level=info logger=image.Puller msg=\"pulled image\""
                + " ref=docker.io/library/busybox:latest note=\"two words \\\"q\\\"\" ms=12\n"), line);
    }

    @Test
    void aStackTraceStaysOnOneLine() {
        var record = new Log.FieldsRecord(Level.SEVERE, "failed", new Object[0]);
        record.setThrown(new IllegalStateException("boom"));
        String line = formatter.format(record);
        assertEquals(1, line.split("\n").length, line);
        assertTrue(line.contains("error=\"java.lang.IllegalStateException: boom\""), line);
        assertTrue(line.contains("level=error"), line);
    }

    @Test
    void libraryRecordsKeepTheirPlaceholders() {
        var record = new LogRecord(Level.FINE, "channel {0} open");
        record.setParameters(new Object[] {"c1"});
        record.setLoggerName("io.grpc.netty.X");
        assertTrue(formatter.format(record).contains("level=debug logger=io.grpc.netty.X msg=\"channel c1 open\""));
    }

    @Test
    void levelsMapToTheirNames() {
        assertEquals("trace", LogfmtFormatter.levelName(Level.FINEST));
        assertEquals("debug", LogfmtFormatter.levelName(Level.FINE));
        assertEquals("warn", LogfmtFormatter.levelName(Level.WARNING));
    }
}
