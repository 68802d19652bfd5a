package io.berth.e2e.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.AttachRequest;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.ContainerStatusRequest;
import io.berth.cri.v1.ExecRequest;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.PortForwardRequest;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Exec, Attach and PortForward end to end: a real agent and real busybox containers; the CRI RPCs
 * hand out URLs, and clients speaking SPDY/3.1 and WebSocket (as kubectl and the API server do)
 * use them over real HTTP connections to the streaming server.
 */
@RequiresRoot
class StreamingIT {
    static final Duration T = Duration.ofSeconds(30);
    static final List<String> SPDY_EXEC = List.of("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io");
    /** Short, so that the expiry test need not wait kubelet's minute; long enough for a loaded machine. */
    static final int TOKEN_TTL_SECONDS = 8;

    @RegisterExtension
    static final Testbed bed = Testbed.named("st").withAgentConfig("""
            [streaming]
            address = "127.0.0.1"
            port = 0
            token_ttl_seconds = %d
            """.formatted(TOKEN_TTL_SECONDS));
    static final Pods pods = bed.pods();

    static String pod;
    static String sleeper;

    @BeforeAll
    static void start() throws Exception {
        pod = pods.runPod(pods.pod("streams"));
        sleeper = pods.run(pod, pods.container("sleeper", "sleep", "600"));
    }

    static String execUrl(String container, boolean tty, boolean stdin, String... cmd) {
        return bed.cri().runtime().exec(ExecRequest.newBuilder().setContainerId(container).addAllCmd(List.of(cmd))
                .setTty(tty).setStdin(stdin).setStdout(true).setStderr(!tty).build()).getUrl();
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    // ---- exec over WebSocket ----

    @Test
    void execEchoOverWebSocketV5() throws Exception {
        try (var ws = WsClient.connect(execUrl(sleeper, false, false, "echo", "hello", "world"),
                List.of("v5.channel.k8s.io", "v4.channel.k8s.io"))) {
            assertEquals("v5.channel.k8s.io", ws.protocol());
            byte[][] out = ws.readAll(T);
            assertEquals("hello world\n", text(out[1]));
            assertEquals("", text(out[2]));
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", text(out[3]));
        }
    }

    @Test
    void execCatFedFromStdinOverWebSocketEndsWithTheCloseSignal() throws Exception {
        try (var ws = WsClient.connect(execUrl(sleeper, false, true, "cat"), List.of("v5.channel.k8s.io"))) {
            ws.send(0, "line one\n");
            ws.send(0, "line two\n");
            ws.send(255, new byte[] {0}); // v5 CLOSE of channel 0: stdin's end
            byte[][] out = ws.readAll(T);
            assertEquals("line one\nline two\n", text(out[1]));
            assertTrue(text(out[3]).contains("\"Success\""), text(out[3]));
        }
    }

    @Test
    void aNonZeroExitArrivesAsKubeletReportsIt() throws Exception {
        try (var ws = WsClient.connect(execUrl(sleeper, false, false, "sh", "-c", "echo bye >&2; exit 3"),
                List.of("v4.channel.k8s.io"))) {
            byte[][] out = ws.readAll(T);
            assertEquals("bye\n", text(out[2]));
            String status = text(out[3]);
            assertTrue(status.contains("\"status\":\"Failure\"") && status.contains("\"reason\":\"NonZeroExitCode\"")
                    && status.contains("{\"reason\":\"ExitCode\",\"message\":\"3\"}"), status);
        }
    }

    @Test
    void base64ProtocolCarriesTextMessagesAndThePreV4ErrorChannel() throws Exception {
        try (var ws = WsClient.connect(execUrl(sleeper, false, false, "sh", "-c", "printf 'a\\001b'; exit 4"),
                List.of("base64.channel.k8s.io"))) {
            assertEquals("base64.channel.k8s.io", ws.protocol());
            byte[][] out = ws.readAll(T);
            assertEquals("a\u0001b", text(out[1]));
            assertTrue(text(out[3]).contains("exit code 4"), "pre-v4: the message only: " + text(out[3]));
            assertFalse(text(out[3]).startsWith("{"));
        }
    }

    @Test
    void anExecWhoseClientGoesAwayIsKilled() throws Exception {
        var ws = WsClient.connect(execUrl(sleeper, false, true, "sh", "-c", "echo started; exec sleep 317"),
                List.of("v5.channel.k8s.io"));
        var m = ws.next(T);
        while (m != null && !(m.channel() == 1 && m.text().contains("started"))) m = ws.next(T);
        assertTrue(exec(sleeper, "ps").contains("sleep 317"));
        ws.close();
        long deadline = System.nanoTime() + T.toNanos();
        String ps = exec(sleeper, "ps");
        while (ps.contains("sleep 317") && System.nanoTime() < deadline) {
            Thread.sleep(100);
            ps = exec(sleeper, "ps");
        }
        assertFalse(ps.contains("sleep 317"), ps);
    }

    // ---- exec over SPDY ----

    /** The streams kubectl opens for an exec: error first, then the ones the options ask for. */
    record Spdy(SpdyClient client, SpdyClient.Stream error, SpdyClient.Stream stdin, SpdyClient.Stream stdout,
            SpdyClient.Stream stderr, SpdyClient.Stream resize) implements AutoCloseable {
        static Spdy open(String url, boolean stdin, boolean stderr, boolean resize) throws Exception {
            var c = SpdyClient.connect(url, SPDY_EXEC);
            return new Spdy(c, c.open(Map.of("streamtype", "error")), stdin ? c.open(Map.of("streamtype", "stdin")) : null,
                    c.open(Map.of("streamtype", "stdout")), stderr ? c.open(Map.of("streamtype", "stderr")) : null,
                    resize ? c.open(Map.of("streamtype", "resize")) : null);
        }

        @Override
        public void close() {
            client.close();
        }
    }

    @Test
    void execEchoOverSpdy() throws Exception {
        try (var s = Spdy.open(execUrl(sleeper, false, false, "sh", "-c", "echo out; echo err >&2"), false, true, false)) {
            assertEquals("v4.channel.k8s.io", s.client().protocol());
            assertEquals("out\n", text(s.stdout().readAll(T)));
            assertEquals("err\n", text(s.stderr().readAll(T)));
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", text(s.error().readAll(T)));
            s.client().goAway.get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void execCatFedFromStdinOverSpdyAndTheExitCode() throws Exception {
        try (var s = Spdy.open(execUrl(sleeper, false, true, "sh", "-c", "cat; exit 3"), true, true, false)) {
            s.stdin().write("from the client\n");
            s.stdin().finish();
            assertEquals("from the client\n", text(s.stdout().readAll(T)));
            String status = text(s.error().readAll(T));
            assertTrue(status.contains("NonZeroExitCode") && status.contains("\"message\":\"3\""), status);
        }
    }

    @Test
    void aTtyExecSeesItsSizeAndResizes() throws Exception {
        try (var s = Spdy.open(execUrl(sleeper, true, true, "sh", "-c", "read a; stty size; read b; stty size"),
                true, false, true)) {
            s.resize().write("{\"Width\":100,\"Height\":30}");
            s.stdin().write("first\n");
            assertTrue(s.stdout().readUntil("30 100", T).contains("30 100"));
            s.resize().write("{\"Width\":120,\"Height\":40}");
            Thread.sleep(100); // the resize and the line travel on different streams
            s.stdin().write("second\n");
            assertTrue(s.stdout().readUntil("40 120", T).contains("40 120"));
            assertTrue(text(s.error().readAll(T)).contains("Success"));
        }
    }

    @Test
    void aSpdyClientWithoutACommonProtocolIsRefused() throws Exception {
        var e = assertThrows(SpdyClient.Refused.class, () -> SpdyClient.connect(execUrl(sleeper, false, false, "true"),
                List.of("v9.channel.k8s.io")));
        assertEquals(403, e.status);
    }

    // ---- tokens ----

    @Test
    void anUnknownTokenIsRefusedAndNothingRuns() throws Exception {
        String url = execUrl(sleeper, false, false, "touch", "/tmp/ran-unknown");
        String bad = url.substring(0, url.lastIndexOf('/') + 1) + "not-a-token";
        assertEquals(404, assertThrows(SpdyClient.Refused.class, () -> SpdyClient.connect(bad, SPDY_EXEC)).status);
        assertEquals(404, assertThrows(SpdyClient.Refused.class, () -> WsClient.connect(bad, List.of("v4.channel.k8s.io"))).status);
        var plain = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(bad)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(404, plain.statusCode());
        assertFalse(ran("/tmp/ran-unknown"));
    }

    @Test
    void aTokenWorksOnceOnly() throws Exception {
        String url = execUrl(sleeper, false, false, "sh", "-c", "echo run >> /tmp/ran-twice");
        try (var ws = WsClient.connect(url, List.of("v4.channel.k8s.io"))) {
            assertTrue(text(ws.readAll(T)[3]).contains("Success"));
        }
        assertEquals(404, assertThrows(SpdyClient.Refused.class, () -> SpdyClient.connect(url, SPDY_EXEC)).status);
        assertEquals(404, assertThrows(SpdyClient.Refused.class, () -> WsClient.connect(url, List.of("v4.channel.k8s.io"))).status);
        assertEquals("run\n", exec(sleeper, "cat", "/tmp/ran-twice"));
    }

    @Test
    void anExpiredTokenIsRefusedAndNothingRuns() throws Exception {
        String url = execUrl(sleeper, false, false, "touch", "/tmp/ran-expired");
        Thread.sleep(TOKEN_TTL_SECONDS * 1000L + 500);
        assertEquals(404, assertThrows(SpdyClient.Refused.class, () -> SpdyClient.connect(url, SPDY_EXEC)).status);
        assertFalse(ran("/tmp/ran-expired"));
    }

    @Test
    void badRequestsAreRefusedByTheRpcs() {
        var e = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().exec(ExecRequest.newBuilder()
                .setContainerId(sleeper).addCmd("true").setTty(true).setStdout(true).setStderr(true).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        e = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().exec(ExecRequest.newBuilder()
                .setContainerId("no-such-container").addCmd("true").setStdout(true).build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        e = assertThrows(StatusRuntimeException.class, () -> bed.cri().runtime().portForward(PortForwardRequest.newBuilder()
                .setPodSandboxId("").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    }

    static String exec(String id, String... cmd) {
        return pods.execResult(id, cmd).getStdout().toStringUtf8();
    }

    static boolean ran(String marker) {
        return bed.cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(sleeper).addCmd("test").addCmd("-e")
                .addCmd(marker).setTimeout(20).build()).getExitCode() == 0;
    }

    // ---- attach ----

    @Test
    void attachToAContainerPrintingALineASecondLeavesItsLogWhole() throws Exception {
        String ticker = pods.run(pod, pods.container("ticker", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"));
        String url = bed.cri().runtime().attach(AttachRequest.newBuilder().setContainerId(ticker).setStdout(true).setStderr(true)
                .build()).getUrl();
        var c = SpdyClient.connect(url, SPDY_EXEC);
        try {
            c.open(Map.of("streamtype", "error"));
            var stdout = c.open(Map.of("streamtype", "stdout"));
            c.open(Map.of("streamtype", "stderr"));
            String seen = stdout.readUntil("\n", T);
            int first = Integer.parseInt(seen.strip().split("\n")[0].replace("tick ", ""));
            if (!seen.contains("tick " + (first + 1) + "\n")) seen += stdout.readUntil("tick " + (first + 1) + "\n", T);
            assertTrue(seen.contains("tick " + first + "\ntick " + (first + 1) + "\n"), seen);
        } finally {
            c.close();
        }
        // The log has every line, before, during and after the attach.
        Path log = bed.dir().resolve("logs/streams/ticker/0.log");
        long deadline = System.nanoTime() + T.toNanos();
        String text = Files.readString(log);
        while (!text.contains("stdout F tick 4\n") && System.nanoTime() < deadline) {
            Thread.sleep(200);
            text = Files.readString(log);
        }
        for (int i = 0; i <= 4; i++) assertTrue(text.contains(" stdout F tick " + i + "\n"), text);

        // WebSocket attach too, after the SPDY one detached.
        url = bed.cri().runtime().attach(AttachRequest.newBuilder().setContainerId(ticker).setStdout(true).build()).getUrl();
        try (var ws = WsClient.connect(url, List.of("v4.channel.k8s.io"))) {
            var m = ws.next(T);
            assertEquals(1, m.channel(), "the empty opening message is on stdout");
            m = ws.next(T);
            assertEquals(1, m.channel());
            assertTrue(m.text().startsWith("tick "), m.text());
        }
    }

    @Test
    void attachFeedsStdinAndStdinOnceClosesItOnDetach() throws Exception {
        String cat = pods.run(pod, pods.container("cat", "sh", "-c", "cat; echo stdin closed").setStdin(true).setStdinOnce(true));
        String url = bed.cri().runtime().attach(AttachRequest.newBuilder().setContainerId(cat).setStdin(true).setStdout(true)
                .setStderr(true).build()).getUrl();
        try (var ws = WsClient.connect(url, List.of("v5.channel.k8s.io"))) {
            ws.send(0, "echo me\n");
            var got = new StringBuilder();
            while (!got.toString().contains("echo me\n")) {
                var m = ws.next(T);
                assertTrue(m != null, "closed early: " + got);
                if (m.channel() == 1) got.append(m.text());
            }
            ws.send(255, new byte[] {0});
            byte[][] rest = ws.readAll(T);
            assertEquals("stdin closed\n", text(rest[1]));
            assertTrue(text(rest[3]).contains("Success"), text(rest[3]));
        }
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline && bed.cri().runtime().containerStatus(ContainerStatusRequest.newBuilder()
                .setContainerId(cat).build()).getStatus().getState() != ContainerState.CONTAINER_EXITED) {
            Thread.sleep(50);
        }
        var st = bed.cri().runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(cat).build()).getStatus();
        assertEquals(ContainerState.CONTAINER_EXITED, st.getState());
        assertEquals(0, st.getExitCode());
    }

    // ---- port-forward ----

    static String httpPod;

    static synchronized String httpPod() throws Exception {
        if (httpPod == null) {
            httpPod = pods.runPod(pods.pod("web"));
            pods.run(httpPod, pods.container("httpd", "sh", "-c",
                    "mkdir -p /www && echo hello-from-the-pod > /www/index.html && exec httpd -f -p 8080 -h /www"));
            // Ready once it answers inside the pod.
            long deadline = System.nanoTime() + T.toNanos();
            while (System.nanoTime() < deadline) {
                try (var c = SpdyClient.connect(portForwardUrl(httpPod), List.of("portforward.k8s.io"))) {
                    if (get(c, "0").contains("hello-from-the-pod")) break;
                } catch (Exception e) {
                    // not listening yet
                }
                Thread.sleep(100);
            }
        }
        return httpPod;
    }

    static String portForwardUrl(String pod, int... ports) {
        var b = PortForwardRequest.newBuilder().setPodSandboxId(pod);
        for (int p : ports) b.addPort(p);
        return bed.cri().runtime().portForward(b.build()).getUrl();
    }

    /** One forwarded connection on {@code c}: an HTTP GET of / on port 8080, the whole reply. */
    static String get(SpdyClient c, String requestId) throws Exception {
        var error = c.open(Map.of("streamtype", "error", "port", "8080", "requestid", requestId));
        var data = c.open(Map.of("streamtype", "data", "port", "8080", "requestid", requestId));
        data.write("GET /index.html HTTP/1.0\r\n\r\n");
        String reply = text(data.readAll(T));
        String err = text(error.readAll(T));
        assertEquals("", err, "error stream");
        return reply;
    }

    @Test
    void portForwardOverSpdyCarriesManyConcurrentConnections() throws Exception {
        String web = httpPod();
        try (var c = SpdyClient.connect(portForwardUrl(web), List.of("portforward.k8s.io"))) {
            assertEquals("portforward.k8s.io", c.protocol());
            var pool = Executors.newFixedThreadPool(8);
            try {
                var replies = new ArrayList<Future<String>>();
                for (int i = 0; i < 16; i++) {
                    String rid = Integer.toString(i);
                    replies.add(pool.submit((Callable<String>) () -> get(c, rid)));
                }
                for (var r : replies) {
                    String reply = r.get();
                    assertTrue(reply.startsWith("HTTP/1.") && reply.contains("hello-from-the-pod"), reply);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void portForwardToAPortNothingListensOnReportsOnTheErrorStream() throws Exception {
        String web = httpPod();
        try (var c = SpdyClient.connect(portForwardUrl(web), List.of("portforward.k8s.io"))) {
            var error = c.open(Map.of("streamtype", "error", "port", "8081", "requestid", "1"));
            var data = c.open(Map.of("streamtype", "data", "port", "8081", "requestid", "1"));
            String err = text(error.readAll(T));
            assertTrue(err.contains("8081") && err.toLowerCase().contains("refused"), err);
            assertEquals(0, data.readAll(T).length);
        }
    }

    @Test
    void portForwardOverWebSocket() throws Exception {
        String web = httpPod();
        try (var ws = WsClient.connect(portForwardUrl(web, 8080), List.of("v4.channel.k8s.io"))) {
            // Each channel opens with its port, little-endian.
            var first = List.of(ws.next(T), ws.next(T));
            for (var m : first) {
                assertEquals(8080, (m.data()[0] & 0xff) | (m.data()[1] & 0xff) << 8);
            }
            ws.send(0, "GET /index.html HTTP/1.0\r\n\r\n");
            byte[][] out = ws.readAll(T);
            assertTrue(text(out[0]).contains("hello-from-the-pod"), text(out[0]));
            assertEquals("", text(out[1]));
        }
    }
}
