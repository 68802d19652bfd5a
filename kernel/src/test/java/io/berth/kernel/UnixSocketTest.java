package io.berth.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** UnixSocket against the JDK's unix channels, the agent's end of every shim socket. No root needed. */
class UnixSocketTest {
    @TempDir
    Path dir;

    @Test
    void aJdkClientTalksToAListeningSocketBothWays() throws Exception {
        try (Pair p = Pair.open(dir.resolve("s.sock"))) {
            UnixSocket conn = p.conn();
            SocketChannel client = p.client();
            client.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.UTF_8)));
            byte[] buf = new byte[16];
            int n = conn.in().read(buf, 3, 10);
            assertEquals("ping", new String(buf, 3, n, StandardCharsets.UTF_8));

            byte[] big = new byte[300_000]; // more than a socket buffer: written in parts
            for (int i = 0; i < big.length; i++) big[i] = (byte) i;
            var reader = CompletableFuture.supplyAsync(() -> readFully(client, big.length));
            conn.out().write(big, 0, big.length);
            assertArrayEquals(big, reader.get(10, TimeUnit.SECONDS));

            client.close();
            assertEquals(-1, conn.in().read(buf), "the peer's close is end of stream");
        }
    }

    @Test
    void connectsToAJdkServer() throws Exception {
        Path path = dir.resolve("agent.sock");
        try (var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            try (UnixSocket s = UnixSocket.connect(path); SocketChannel peer = server.accept()) {
                s.out().write("hello".getBytes(StandardCharsets.UTF_8));
                assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8), readFully(peer, 5));
            }
        }
        var e = assertThrows(IOException.class, () -> UnixSocket.connect(dir.resolve("none.sock")));
        assertTrue(e.getMessage().contains("none.sock") && e.getMessage().contains("No such file"), e.getMessage());
    }

    @Test
    void shutdownInputEndsAReadBlockedInAnotherThread() throws Exception {
        try (Pair p = Pair.open(dir.resolve("s.sock"))) {
            UnixSocket conn = p.conn();
            var read = CompletableFuture.supplyAsync(() -> {
                try {
                    return conn.in().read(new byte[8]);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Thread.sleep(100);
            conn.shutdownInput();
            assertEquals(-1, read.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void awaitReadableSeesTheSocketTheOtherFdAndTheTimeout() throws Exception {
        Fd[] wake = FileOps.pipe("wake-up");
        try (Pair p = Pair.open(dir.resolve("s.sock")); Fd r = wake[0]; Fd w = wake[1]) {
            UnixSocket conn = p.conn();
            long t0 = System.nanoTime();
            assertEquals(0, conn.awaitReadable(50, r));
            assertTrue(System.nanoTime() - t0 >= 45_000_000L, "waited the timeout");
            FileOps.writeAll(w, new byte[] {1}, 1);
            assertEquals(2, conn.awaitReadable(5000, r));
            p.client().close();
            assertEquals(3, conn.awaitReadable(5000, r), "end of stream makes the socket readable");
        }
    }

    @Test
    void aListeningSocketIsReadableOnceAConnectionWaits() throws Exception {
        try (UnixSocket server = UnixSocket.listen(dir.resolve("l.sock"))) {
            assertFalse(server.awaitReadable(50), "nobody connected");
            try (UnixSocket client = UnixSocket.connect(dir.resolve("l.sock"))) {
                assertTrue(server.awaitReadable(5000), "a connection waits");
                server.accept().close();
            }
        }
    }

    @Test
    void aWriteToAPeerThatReadsNothingFailsAfterTheSendTimeout() throws Exception {
        try (Pair p = Pair.open(dir.resolve("s.sock"))) {
            UnixSocket conn = p.conn();
            conn.setSendTimeout(Duration.ofMillis(200));
            var e = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 1000; i++) conn.out().write(new byte[65536]);
            });
            assertTrue(e.getMessage().contains("send timeout"), e.getMessage());
        }
    }

    @Test
    void aWriteToAClosedPeerIsAnErrorNotASignal() throws Exception {
        try (Pair p = Pair.open(dir.resolve("s.sock"))) {
            UnixSocket conn = p.conn();
            p.client().close();
            var e = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 10; i++) conn.out().write(new byte[1024]);
            });
            assertTrue(e.getMessage().contains("Broken pipe") || e.getMessage().contains("reset"), e.getMessage());
        }
    }

    @Test
    void badPathsAreRefusedWithTheReason() throws Exception {
        Path taken = dir.resolve("taken.sock");
        try (UnixSocket s = UnixSocket.listen(taken)) {
            var e = assertThrows(IOException.class, () -> UnixSocket.listen(taken));
            assertTrue(e.getMessage().contains("Address already in use"), e.getMessage());
        }
        Path tooLong = dir.resolve("x".repeat(120));
        var e = assertThrows(IOException.class, () -> UnixSocket.listen(tooLong));
        assertTrue(e.getMessage().contains("the limit is 107"), e.getMessage());
    }

    /** A listening UnixSocket, a JDK client connected to it, and the accepted connection. */
    private record Pair(UnixSocket server, SocketChannel client, UnixSocket conn) implements AutoCloseable {
        static Pair open(Path path) throws IOException {
            UnixSocket server = UnixSocket.listen(path);
            SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX);
            client.connect(UnixDomainSocketAddress.of(path));
            return new Pair(server, client, server.accept());
        }

        @Override
        public void close() throws IOException {
            conn.close();
            client.close();
            server.close();
        }
    }

    private static byte[] readFully(SocketChannel ch, int n) {
        ByteBuffer b = ByteBuffer.allocate(n);
        try {
            while (b.hasRemaining()) {
                if (ch.read(b) < 0) throw new IOException("EOF after " + b.position());
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return b.array();
    }
}
