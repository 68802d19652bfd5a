package io.berth.shim.jul;

import java.text.MessageFormat;
import java.time.Instant;

/**
 * The part of {@code java.util.logging.Logger} that JNA and protobuf call, for the shim's jar
 * only: its build (runtime-shim/pom.xml, the shade plugin) relocates their references to
 * {@code java.util.logging} to this package. A shim then never starts JUL: the first
 * {@code Logger.getLogger} sets up its LogManager, reads logging.properties and looks for a
 * {@code System.LoggerFinder} provider in every module and class-path jar, ~9 ms of interpreted
 * CPU per shim start (measured without and with a {@code getLogger} in an otherwise identical JVM)
 * for a logger that a shim leaves at its defaults. Those defaults are kept: records of level INFO
 * and above go to stderr (the shim's log), the rest are dropped.
 */
public final class Logger {
    private final String name;

    private Logger(String name) {
        this.name = name;
    }

    public static Logger getLogger(String name) {
        return new Logger(name);
    }

    public boolean isLoggable(Level level) {
        return level.intValue() >= Level.INFO.intValue();
    }

    public void log(Level level, String msg) {
        if (isLoggable(level)) print(level, msg, null);
    }

    public void log(Level level, String msg, Object param) {
        if (isLoggable(level)) print(level, format(msg, new Object[] {param}), null);
    }

    public void log(Level level, String msg, Object[] params) {
        if (isLoggable(level)) print(level, format(msg, params), null);
    }

    public void log(Level level, String msg, Throwable thrown) {
        if (isLoggable(level)) print(level, msg, thrown);
    }

    public void fine(String msg) {
        log(Level.FINE, msg);
    }

    public void info(String msg) {
        log(Level.INFO, msg);
    }

    public void warning(String msg) {
        log(Level.WARNING, msg);
    }

    public void severe(String msg) {
        log(Level.SEVERE, msg);
    }

    /** As JUL's SimpleFormatter: {0}-style parameters only when the message has any. */
    private static String format(String msg, Object[] params) {
        if (msg == null || params == null || params.length == 0 || !msg.contains("{")) return msg;
        try {
            return MessageFormat.format(msg, params);
        } catch (IllegalArgumentException e) {
            return msg;
        }
    }

    private void print(Level level, String msg, Throwable thrown) {
        synchronized (System.err) {
            System.err.println(Instant.now() + " " + level + " " + name + ": " + msg);
            if (thrown != null) thrown.printStackTrace();
        }
    }
}
