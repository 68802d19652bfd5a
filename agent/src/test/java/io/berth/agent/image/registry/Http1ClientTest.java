package io.berth.agent.image.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The registry's HTTP/1.1 client against a loopback server that answers byte for byte as scripted. */
class Http1ClientTest {
    /** Writes one response; returns false to close the connection after it. */
    @FunctionalInterface
    interface Responder {
        boolean respond(String requestLine, byte[] body, OutputStream out) throws IOException;
    }

    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private ServerSocket server;
    private Thread acceptor;

    private String serve(Responder responder) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofPlatform().daemon().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.add(s);
                    connections.incrementAndGet();
                    Thread.ofPlatform().daemon().start(() -> converse(s, responder));
                } catch (IOException closed) {
                    return;
                }
            }
        });
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private void converse(Socket s, Responder responder) {
        try (s) {
            InputStream in = s.getInputStream();
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                requests.add(head);
                int length = 0;
                for (String line : head.split("\r\n")) {
                    if (line.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring(15).trim());
                    }
                }
                byte[] body = in.readNBytes(length);
                OutputStream out = s.getOutputStream();
                boolean keep = responder.respond(head.substring(0, head.indexOf("\r\n")), body, out);
                out.flush();
                if (!keep) {
                    return;
                }
            }
        } catch (IOException gone) {
            // the client closed its end
        }
    }

    private static String readHead(InputStream in) throws IOException {
        var b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            byte[] a = b.toByteArray();
            int n = a.length;
            if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') {
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
            acceptor.join(5000);
        }
        for (Socket s : accepted) {
            s.close(); // ends the conversations the client's pool still holds open
        }
    }

    private static Http1Client client() throws Exception {
        return new Http1Client(SSLContext.getDefault(), Duration.ofSeconds(5));
    }

    private static HttpRequest get(String url) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                .header("Accept", "*/*").GET().build();
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static String body(HttpResponse<InputStream> r) throws IOException {
        try (InputStream in = r.body()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void bodiesOfKnownLengthShareOneKeptAliveConnection() throws Exception {
        String base = serve((line, body, out) -> {
            String text = "answer to " + line.split(" ")[1];
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + text.length() + "\r\nX-Multi: a\r\nx-multi: b\r\n\r\n" + text);
            return true;
        });
        var c = client();
        for (String path : List.of("/v2/a", "/v2/b?x=1", "/v2/c")) {
            HttpResponse<InputStream> r = c.send(get(base + path));
            assertEquals(200, r.statusCode());
            assertEquals(List.of("a", "b"), r.headers().allValues("x-multi"));
            assertEquals("answer to " + path, body(r));
        }
        assertEquals(1, connections.get());
        assertTrue(requests.get(1).startsWith("GET /v2/b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" + server.getLocalPort() + "\r\n"),
                requests.get(1));
        assertTrue(requests.get(1).contains("Accept: */*\r\n"), requests.get(1));
    }

    @Test
    void aChunkedBodyIsDecodedAndTheConnectionReused() throws Exception {
        String base = serve((line, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n");
            return true;
        });
        var c = client();
        assertEquals("hello world!", body(c.send(get(base + "/one"))));
        HttpResponse<byte[]> pumped = c.send(get(base + "/two"), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals("hello world!", new String(pumped.body(), StandardCharsets.UTF_8));
        assertEquals(1, connections.get());
    }

    @Test
    void aBodyWithoutLengthEndsWithItsConnection() throws Exception {
        String base = serve((line, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\n\r\nuntil the end");
            return false;
        });
        var c = client();
        assertEquals("until the end", body(c.send(get(base + "/a"))));
        assertEquals("until the end", body(c.send(get(base + "/b"))));
        assertEquals(2, connections.get());
    }

    @Test
    void headAndNoContentHaveNoBodyWhateverTheirLengthSays() throws Exception {
        String base = serve((line, body, out) -> {
            write(out, line.startsWith("HEAD") ? "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nDocker-Content-Digest: d\r\n\r\n"
                    : "HTTP/1.1 204 No Content\r\n\r\n");
            return true;
        });
        var c = client();
        HttpResponse<InputStream> r = c.send(HttpRequest.newBuilder(URI.create(base + "/m"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertEquals("d", r.headers().firstValue("docker-content-digest").orElseThrow());
        assertEquals("", body(r));
        assertEquals("", body(c.send(get(base + "/n"))));
        assertEquals(1, connections.get());
    }

    @Test
    void aKeptAliveConnectionTheServerClosedIsReplacedOnce() throws Exception {
        // Closes after every answer without saying so: the next request finds the pooled socket dead.
        String base = serve((line, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return false;
        });
        var c = client();
        assertEquals("ok", body(c.send(get(base + "/a"))));
        Thread.sleep(100); // the server's FIN has arrived
        assertEquals("ok", body(c.send(get(base + "/b"))));
        assertEquals(2, connections.get());
        assertEquals(2, requests.size());
    }

    @Test
    void aBodyLeftUnreadClosesItsConnection() throws Exception {
        String base = serve((line, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            out.write(new byte[100000]);
            return true;
        });
        var c = client();
        HttpResponse<InputStream> r = c.send(get(base + "/big"));
        assertEquals(10, r.body().readNBytes(10).length);
        r.body().close();
        HttpResponse<InputStream> again = c.send(get(base + "/big"));
        assertEquals(100000, again.body().readAllBytes().length);
        assertEquals(2, connections.get());
    }

    @Test
    void aTruncatedBodyFailsNamingWhatIsMissing() throws Exception {
        String base = serve((line, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
            return false;
        });
        HttpResponse<InputStream> r = client().send(get(base + "/t"));
        var e = assertThrows(IOException.class, () -> r.body().readAllBytes());
        assertTrue(e.getMessage().contains("closed with 5 bytes of the body to come"), e.getMessage());
    }

    @Test
    void noAnswerWithinTheRequestTimeoutIsAnHttpTimeout() throws Exception {
        String base = serve((line, body, out) -> {
            try {
                Thread.sleep(3000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        });
        var req = HttpRequest.newBuilder(URI.create(base + "/slow")).timeout(Duration.ofMillis(300)).GET().build();
        var e = assertThrows(HttpTimeoutException.class, () -> client().send(req));
        assertTrue(e.getMessage().contains("no response from http://127.0.0.1:" + server.getLocalPort()), e.getMessage());
    }

    @Test
    void interimResponsesAreSkippedAndAFormIsPosted() throws Exception {
        var got = new CopyOnWriteArrayList<String>();
        String base = serve((line, body, out) -> {
            got.add(new String(body, StandardCharsets.UTF_8));
            write(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
            return true;
        });
        HttpResponse<InputStream> r = client().send(HttpRequest.newBuilder(URI.create(base + "/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=refresh_token&x=y")).build());
        assertEquals(200, r.statusCode());
        assertEquals("{\"a\":1}", body(r));
        assertEquals(List.of("grant_type=refresh_token&x=y"), got);
        assertTrue(requests.get(0).startsWith("POST /token HTTP/1.1\r\n"), requests.get(0));
        assertTrue(requests.get(0).contains("Content-Length: 28\r\n"), requests.get(0));
    }

    @Test
    void aRefusedConnectionIsAConnectException() throws Exception {
        int port;
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        assertThrows(java.net.ConnectException.class, () -> client().send(get("http://127.0.0.1:" + port + "/")));
    }

    @Test
    void aPumpedBlobArrivesWholeInItsSubscriber() throws Exception {
        byte[] blob = new byte[3 << 20];
        new java.util.Random(7).nextBytes(blob);
        String base = serve((line, body, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + blob.length + "\r\n\r\n");
            out.write(blob);
            return true;
        });
        var c = client();
        HttpResponse<InputStream> r = c.send(get(base + "/blob"), BlobBody.handler(1 << 20, Duration.ofSeconds(5), "blob"));
        try (InputStream in = r.body()) {
            Thread.sleep(100); // the read-ahead stops at 1 MiB meanwhile
            assertArrayEquals(blob, in.readAllBytes());
        }
        assertEquals(blob.length, c.send(get(base + "/blob")).body().readAllBytes().length);
        assertEquals(1, connections.get()); // read to its end by the pump: back in the pool
    }
}
