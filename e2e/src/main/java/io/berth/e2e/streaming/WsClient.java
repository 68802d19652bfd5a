package io.berth.e2e.streaming;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A client of the Kubernetes WebSocket channel protocols (k8s.io/apimachinery wsstream) on the
 * JDK's WebSocket: messages carry their channel as a first byte (binary) or digit (base64 text).
 */
public final class WsClient implements AutoCloseable {
    /** One message: its channel and its (decoded) data. */
    public record Message(int channel, byte[] data) {
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    private static final Message CLOSED = new Message(-1, new byte[0]);
    /** One HTTP client for all connections: creating one costs its own threads and TLS set-up. */
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final WebSocket socket;
    private final boolean base64;
    private final LinkedBlockingQueue<Message> messages;

    private WsClient(WebSocket socket, boolean base64, LinkedBlockingQueue<Message> messages) {
        this.socket = socket;
        this.base64 = base64;
        this.messages = messages;
    }

    /** Connects to {@code url} (http://...: switched to ws://); the handshake's HTTP status on refusal. */
    public static WsClient connect(String url, List<String> protocols) throws IOException, InterruptedException {
        var messages = new LinkedBlockingQueue<Message>();
        var listener = new WebSocket.Listener() {
            private final ByteArrayOutputStream binary = new ByteArrayOutputStream();
            private final StringBuilder text = new StringBuilder();
            private volatile boolean b64;

            @Override
            public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
                byte[] b = new byte[data.remaining()];
                data.get(b);
                binary.writeBytes(b);
                if (last) {
                    byte[] all = binary.toByteArray();
                    binary.reset();
                    if (all.length > 0) messages.add(new Message(all[0] & 0xff, java.util.Arrays.copyOfRange(all, 1, all.length)));
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    String all = text.toString();
                    text.setLength(0);
                    if (!all.isEmpty()) messages.add(new Message(all.charAt(0) - '0', Base64.getDecoder().decode(all.substring(1))));
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
                messages.add(CLOSED);
                return null;
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                messages.add(CLOSED);
            }
        };
        var builder = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30));
        if (!protocols.isEmpty()) {
            builder.subprotocols(protocols.getFirst(), protocols.subList(1, protocols.size()).toArray(String[]::new));
        }
        try {
            WebSocket ws = builder.buildAsync(URI.create(url.replaceFirst("^http", "ws")), listener).get(30, TimeUnit.SECONDS);
            return new WsClient(ws, ws.getSubprotocol().contains("base64"), messages);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                throw new SpdyClient.Refused(h.getResponse().statusCode(), String.valueOf(h.getResponse().body()));
            }
            throw new IOException("WebSocket to " + url + ": " + e.getCause(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("WebSocket to " + url + ": no handshake within 30 s", e);
        }
    }

    public String protocol() {
        return socket.getSubprotocol();
    }

    /** Sends {@code data} on {@code channel}. */
    public void send(int channel, byte[] data) {
        if (base64) {
            socket.sendText((char) ('0' + channel) + Base64.getEncoder().encodeToString(data), true).join();
        } else {
            byte[] frame = new byte[data.length + 1];
            frame[0] = (byte) channel;
            System.arraycopy(data, 0, frame, 1, data.length);
            socket.sendBinary(ByteBuffer.wrap(frame), true).join();
        }
    }

    public void send(int channel, String text) {
        send(channel, text.getBytes(StandardCharsets.UTF_8));
    }

    /** The next message; null once the server closed the connection. */
    public Message next(Duration timeout) throws IOException, InterruptedException {
        Message m = messages.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (m == null) throw new IOException("no message within " + timeout);
        return m == CLOSED ? null : m;
    }

    /** Every message until the server closes, concatenated per channel (index = channel, up to 8). */
    public byte[][] readAll(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        var outs = new ByteArrayOutputStream[8];
        for (int i = 0; i < outs.length; i++) outs[i] = new ByteArrayOutputStream();
        Message m;
        while ((m = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) != null) {
            if (m.channel() < outs.length) outs[m.channel()].writeBytes(m.data());
        }
        byte[][] result = new byte[outs.length][];
        for (int i = 0; i < outs.length; i++) result[i] = outs[i].toByteArray();
        return result;
    }

    @Override
    public void close() {
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "").exceptionally(e -> null);
        socket.abort();
    }
}
