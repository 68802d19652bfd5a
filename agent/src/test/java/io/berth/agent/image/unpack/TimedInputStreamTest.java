package io.berth.agent.image.unpack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class TimedInputStreamTest {

    /** A stream whose every read first spends {@code spinMs} of this thread's CPU, then sleeps {@code sleepMs}. */
    private static InputStream costly(long spinMs, long sleepMs) {
        return new InputStream() {
            @Override
            public int read() {
                var threads = ManagementFactory.getThreadMXBean();
                long until = threads.getCurrentThreadCpuTime() + spinMs * 1_000_000;
                while (threads.getCurrentThreadCpuTime() < until) {
                    Thread.onSpinWait();
                }
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 7;
            }
        };
    }

    @Test
    void countsTheReadsElapsedTimeAndTheThreadsCpuApart() throws Exception {
        var timed = new TimedInputStream(costly(30, 60));
        assertEquals(7, timed.read());
        assertEquals(7, timed.read());
        assertTrue(timed.cpuMillis() >= 60, "two reads spent 2 x 30 ms of CPU: " + timed.cpuMillis());
        assertTrue(timed.millis() >= 180, "and 2 x (30 + 60) ms elapsed: " + timed.millis());
        assertTrue(timed.cpuMillis() < timed.millis() - 100, "sleeping is not CPU: " + timed.cpuMillis()
                + " of " + timed.millis() + " ms");
    }

    @Test
    void timeOutsideReadsIsNotCounted() throws Exception {
        var timed = new TimedInputStream(InputStream.nullInputStream());
        Thread.sleep(50);
        assertEquals(-1, timed.read());
        assertTrue(timed.millis() < 50, "only the read: " + timed.millis());
    }
}
