package io.berth.agent.log;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * One line per record in logfmt (https://brandur.org/logfmt): easy for people to read and for log
 * shippers to parse. A stack trace, when there is one, follows as an {@code error=} field holding
 * the first line and a {@code stack=} field with the rest, escaped onto the same line.
 */
public final class LogfmtFormatter extends Formatter {

    @Override
    public String format(LogRecord record) {
        var line = new StringBuilder(160);
        line.append("ts=").append(Instant.ofEpochMilli(record.getMillis()));
        line.append(" level=").append(levelName(record.getLevel()));
        line.append(" logger=").append(shortName(record.getLoggerName()));
        field(line, "msg", record instanceof Log.FieldsRecord ? record.getMessage() : formatMessage(record));
        if (record instanceof Log.FieldsRecord fields) {
            var kv = fields.fields();
            for (int i = 0; i + 1 < kv.length; i += 2) {
                field(line, String.valueOf(kv[i]), kv[i + 1]);
            }
        }
        if (record.getThrown() != null) {
            field(line, "error", record.getThrown().toString());
            var stack = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(stack));
            field(line, "stack", stack.toString());
        }
        return line.append('\n').toString();
    }

    static String levelName(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) return "error";
        if (v >= Level.WARNING.intValue()) return "warn";
        if (v >= Level.INFO.intValue()) return "info";
        if (v >= Level.FINE.intValue()) return "debug";
        return "trace";
    }

    /** {@code io.berth.agent.server.CriServer} → {@code server.CriServer}; others unchanged. */
    private static String shortName(String name) {
        if (name == null) return "-";
        return name.startsWith("io.berth.agent.") ? name.substring("io.berth.agent.".length()) : name;
    }

    private static void field(StringBuilder line, String key, Object value) {
        line.append(' ').append(key).append('=');
        String s = String.valueOf(value);
        if (!s.isEmpty() && s.chars().allMatch(c -> c > ' ' && c != '"' && c != '=' && c != '\\' && c < 127)) {
            line.append(s);
            return;
        }
        line.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> line.append("\\\"");
                case '\\' -> line.append("\\\\");
                case '\n' -> line.append("\\n");
                case '\t' -> line.append("\\t");
                case '\r' -> line.append("\\r");
                default -> line.append(c);
            }
        }
        line.append('"');
    }
}
