package io.berth.agent.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.berth.agent.image.registry.Credentials;
import io.berth.agent.image.registry.DockerConfig;
import io.berth.agent.image.registry.RegistryClient;
import io.berth.agent.image.registry.RegistryHosts;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Blob downloads against a loopback HTTP server that misbehaves on purpose. */
class RegistryClientTest {
    static final byte[] BLOB = new byte[3 << 20];

    static {
        new Random(7).nextBytes(BLOB);
    }

    static final Digest DIGEST = Digest.sha256(BLOB);

    HttpServer server;
    final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        // The whole blob, in small writes: what a healthy registry does.
        server.createContext("/v2/app/blobs/" + DIGEST, ex -> {
            ex.sendResponseHeaders(200, BLOB.length);
            try (OutputStream out = ex.getResponseBody()) {
                for (int off = 0; off < BLOB.length; off += 8192) {
                    out.write(BLOB, off, Math.min(8192, BLOB.length - off));
                }
            }
        });
        // Half of the blob, then nothing: a registry or proxy that stalls mid-download.
        server.createContext("/v2/stall/blobs/" + DIGEST, ex -> {
            ex.sendResponseHeaders(200, BLOB.length);
            OutputStream out = ex.getResponseBody();
            out.write(BLOB, 0, BLOB.length / 2);
            out.flush();
            try {
                release.await(30, TimeUnit.SECONDS); // bounded: the test releases it at the end
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
    }

    private RegistryClient client(Duration timeout) {
        String host = "127.0.0.1:" + server.getAddress().getPort();
        var hosts = new RegistryHosts(Map.of(host, new RegistryHosts.Settings(java.util.List.of(), true, "")), null);
        return new RegistryClient(hosts, new DockerConfig(null), RegistryClient.DEFAULT_MAX_MANIFEST_BYTES, timeout);
    }

    private String ref(String repo) {
        return "127.0.0.1:" + server.getAddress().getPort() + "/" + repo + ":1";
    }

    @Test
    void aBlobIsStreamedWholeWithReadAhead() throws IOException {
        var session = client(Duration.ofSeconds(10)).session(ImageRef.parse(ref("app")), Credentials.ANONYMOUS, "");
        try (InputStream in = session.openBlob(DIGEST, BLOB.length, null)) {
            Thread.sleep(200); // let the read-ahead fill up while nobody reads
            assertArrayEquals(BLOB, in.readAllBytes());
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** The hasher sees every byte, those that arrived before the body was handed out as well as after. */
    @Test
    void aBlobHashedAsItArrivesGivesItsDigest() throws Exception {
        var session = client(Duration.ofSeconds(10)).session(ImageRef.parse(ref("app")), Credentials.ANONYMOUS, "");
        var hasher = DIGEST.newHasher();
        try (InputStream in = session.openBlob(DIGEST, BLOB.length, hasher)) {
            byte[] first = in.readNBytes(1000);
            Thread.sleep(200); // the read-ahead fills up meanwhile: hashed as it arrives, not as it is read
            byte[] rest = in.readAllBytes();
            assertEquals(BLOB.length, first.length + rest.length);
        }
        assertEquals(DIGEST.hex(), java.util.HexFormat.of().formatHex(hasher.digest()));
    }

    @Test
    void aStalledDownloadTimesOutWithAClearError() throws IOException {
        var session = client(Duration.ofSeconds(1)).session(ImageRef.parse(ref("stall")), Credentials.ANONYMOUS, "");
        long t0 = System.nanoTime();
        try (InputStream in = session.openBlob(DIGEST, BLOB.length, null)) {
            byte[] buf = new byte[65536];
            var e = assertThrows(HttpTimeoutException.class, () -> {
                while (in.read(buf) >= 0) {
                    // read what the server sent, then wait for what it never sends
                }
            });
            double s = (System.nanoTime() - t0) / 1e9;
            assertTrue(s >= 1 && s < 10, "timed out after " + s + " s");
            assertTrue(e.getMessage().contains("blob " + DIGEST), e.getMessage());
            assertTrue(e.getMessage().contains("no data received for 1 s (images.download_timeout_seconds)"),
                    e.getMessage());
            // Every later read says the same, so whoever drains the stream reports the cause.
            assertThrows(HttpTimeoutException.class, () -> in.read(buf));
        }
    }
}
