package io.berth.shim;

import java.time.Instant;

/** The shim's own log: stderr, which the launcher points at BUNDLE/shim.log. No logging library. */
final class Log {
    private Log() {
    }

    static void info(String msg) {
        System.err.println(Instant.now() + " INFO " + msg);
    }

    static void warn(String msg) {
        System.err.println(Instant.now() + " WARN " + msg);
    }
}
