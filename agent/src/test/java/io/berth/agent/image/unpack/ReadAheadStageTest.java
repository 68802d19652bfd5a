package io.berth.agent.image.unpack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The stage hands over every byte in order (through recycled arrays), its failure, and stops on close. */
class ReadAheadStageTest {
    @Test
    void everyByteArrivesInOrderWhateverTheReadSizes() throws IOException {
        byte[] data = GzipFixtures.random(1, 3_000_001);
        for (int readSize : new int[] {1, 7, 4096, 100_003, 0}) {
            // A source that hands out odd amounts, so that chunks end anywhere.
            try (var stage = new ReadAheadStage(GzipFixtures.trickle(new ByteArrayInputStream(data), 65_521), 8192, 3,
                    "test stage")) {
                assertArrayEquals(data, GzipFixtures.readAll(stage, readSize), "reads of " + readSize);
                assertEquals(-1, stage.read());
            }
        }
    }

    @Test
    void theSourcesFailureArrivesWhereTheDataWouldHaveBeen() throws IOException {
        var boom = new IOException("registry went away");
        InputStream failing = new InputStream() {
            @Override
            public int read() throws IOException {
                throw boom;
            }
        };
        byte[] data = GzipFixtures.random(2, 5 * 4096); // whole chunks: a partial one goes with the failure
        try (var stage = new ReadAheadStage(new SequenceInputStream(new ByteArrayInputStream(data), failing), 4096, 2,
                "test stage")) {
            byte[] got = stage.readNBytes(data.length);
            assertArrayEquals(data, got);
            assertSame(boom, assertThrows(IOException.class, stage::read));
            assertSame(boom, assertThrows(IOException.class, stage::read));
        }
    }

    @Test
    void closeStopsAStageThatWaitsForRoomAndTheThreadIsNamedMeanwhile() throws Exception {
        var running = new CountDownLatch(1);
        var reads = new java.util.concurrent.atomic.AtomicInteger();
        String[] name = new String[1];
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                return 0;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                name[0] = Thread.currentThread().getName();
                reads.incrementAndGet();
                running.countDown();
                return len;
            }
        };
        var stage = new ReadAheadStage(endless, 1024, 2, "unpack sha256:abc");
        assertTrue(running.await(10, TimeUnit.SECONDS));
        assertEquals(0, stage.read());
        stage.close(); // returns only once the stage has stopped
        int after = reads.get();
        Thread.sleep(300);
        assertEquals(after, reads.get(), "the stage still reads its source after close");
        assertEquals("unpack sha256:abc", name[0]);
    }
}
