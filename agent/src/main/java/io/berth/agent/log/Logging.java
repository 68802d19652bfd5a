package io.berth.agent.log;

import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/** Sends every log record of the process, ours and the libraries', to stderr in logfmt. */
public final class Logging {
    private Logging() {
    }

    /** java.util.logging holds loggers weakly: keep the ones whose level we set, or it is lost. */
    private static final Logger[] LIBRARIES = {
        Logger.getLogger("io.netty"), Logger.getLogger("io.grpc"), Logger.getLogger("io.vertx")
    };

    /** The level names a config file or flag may use, lowest first. */
    public static final String LEVELS = "trace, debug, info, warn, error";

    public static Level parseLevel(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "trace" -> Level.FINEST;
            case "debug" -> Level.FINE;
            case "info" -> Level.INFO;
            case "warn", "warning" -> Level.WARNING;
            case "error" -> Level.SEVERE;
            default -> throw new IllegalArgumentException(
                    "unknown log level '" + name + "' (one of: " + LEVELS + ")");
        };
    }

    public static void configure(Level level) {
        LogManager.getLogManager().reset();
        var handler = new ConsoleHandler(); // writes to System.err
        handler.setFormatter(new LogfmtFormatter());
        handler.setLevel(Level.ALL);
        var root = Logger.getLogger("");
        root.addHandler(handler);
        root.setLevel(level);
        // Our debug level is about berth; the libraries' debug output is only wanted at trace.
        var libraries = level.intValue() < Level.FINE.intValue() ? level : Level.INFO;
        for (var lib : LIBRARIES) {
            lib.setLevel(libraries);
        }
    }
}
