package io.berth.agent.log;

import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Structured, levelled logging: a message plus key/value pairs, written by {@link LogfmtFormatter}
 * as one logfmt line on stderr ({@code ts=... level=info logger=agent msg="..." key=value}).
 * A thin face over java.util.logging, so that the libraries we use (gRPC, Netty, Vert.x) log through
 * the same handler and format.
 */
public final class Log {
    private final Logger logger;

    private Log(Logger logger) {
        this.logger = logger;
    }

    public static Log get(Class<?> owner) {
        return new Log(Logger.getLogger(owner.getName()));
    }

    public void error(String msg, Object... kv) {
        log(Level.SEVERE, msg, null, kv);
    }

    public void error(String msg, Throwable cause, Object... kv) {
        log(Level.SEVERE, msg, cause, kv);
    }

    public void warn(String msg, Object... kv) {
        log(Level.WARNING, msg, null, kv);
    }

    public void warn(String msg, Throwable cause, Object... kv) {
        log(Level.WARNING, msg, cause, kv);
    }

    public void info(String msg, Object... kv) {
        log(Level.INFO, msg, null, kv);
    }

    public void debug(String msg, Object... kv) {
        log(Level.FINE, msg, null, kv);
    }

    public boolean debugEnabled() {
        return logger.isLoggable(Level.FINE);
    }

    private void log(Level level, String msg, Throwable cause, Object[] kv) {
        if (!logger.isLoggable(level)) {
            return;
        }
        if (kv.length % 2 != 0) {
            throw new IllegalArgumentException("log fields must come in key/value pairs: " + msg);
        }
        var record = new FieldsRecord(level, msg, kv);
        record.setLoggerName(logger.getName());
        record.setThrown(cause);
        logger.log(record);
    }

    /** A record whose parameters are key/value pairs rather than {@code {0}} placeholders. */
    static final class FieldsRecord extends LogRecord {
        private final Object[] fields;

        FieldsRecord(Level level, String msg, Object[] fields) {
            super(level, msg);
            this.fields = fields;
        }

        Object[] fields() {
            return fields;
        }
    }
}
