package io.berth.shim;

import java.time.Instant;

/** The shim's own log: stderr, which the launcher points at BUNDLE/shim.log. No logging library. */
final class Log {
    private static volatile long T0 = System.nanoTime();
    private static final StringBuilder TIMELINE = new StringBuilder();

    private Log() {
    }

    static void info(String msg) {
        System.err.println(Rfc3339.format(Instant.now()) + " INFO " + msg);
    }

    static void warn(String msg) {
        System.err.println(Rfc3339.format(Instant.now()) + " WARN " + msg);
    }

    /**
     * Notes that a step of the create path has finished, in ms since this class was loaded (the
     * first thing main does); {@link #timeline} prints them all as one line, so the log shows where
     * a container's start-up time goes without a line per step. Any thread (the spawner's too: it
     * only appends to a buffer, which needs no new thread or file).
     */
    static void mark(String step) {
        long us = (System.nanoTime() - T0) / 1000;
        synchronized (TIMELINE) {
            TIMELINE.append(' ').append(step).append('=').append(us / 1000).append('.').append(us / 100 % 10);
        }
    }

    /** An idle pool shim was adopted: the container's timeline starts now. */
    static void restart() {
        synchronized (TIMELINE) {
            T0 = System.nanoTime();
            TIMELINE.setLength(0);
        }
        mark("adopted");
    }

    /** Logs the marks so far (ms since main), with the wall-clock time of main's start. */
    static void timeline(String what) {
        String marks;
        synchronized (TIMELINE) {
            marks = TIMELINE.toString();
            TIMELINE.setLength(0);
        }
        long sinceMain = (System.nanoTime() - T0) / 1_000_000;
        info(what + " (ms since main at " + Rfc3339.format(Instant.now().minusMillis(sinceMain)) + "):" + marks);
    }
}
