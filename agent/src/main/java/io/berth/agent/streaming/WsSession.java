package io.berth.agent.streaming;

import io.berth.agent.log.Log;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A WebSocket connection speaking the channel protocols of k8s.io/apimachinery wsstream: every
 * message starts with its channel number, one byte ({@code channel.k8s.io}, {@code v4.},
 * {@code v5.}) or one ASCII digit followed by base64 ({@code base64.channel.k8s.io}, {@code v4.base64.}).
 * <ul>
 * <li>exec/attach: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize (remotecommand/websocket.go);
 *   v4 and v5 carry the metav1.Status JSON on the error channel; v5 adds the CLOSE signal, channel
 *   255 with the number of the channel the client closes (stdin's end).
 * <li>port-forward: channel 2i data and 2i+1 error for the i-th port of the request, each first
 *   carrying the port as a little-endian uint16 (portforward/websocket.go).
 * </ul>
 */
final class WsSession extends ChannelInboundHandlerAdapter {
    private static final Log LOG = Log.get(WsSession.class);
    static final List<String> EXEC_PROTOCOLS = List.of("v5.channel.k8s.io", "v4.channel.k8s.io",
            "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io");
    static final List<String> PORT_FORWARD_PROTOCOLS = List.of("v4.channel.k8s.io", "v4.base64.channel.k8s.io");
    private static final int CLOSE_SIGNAL = 255;

    private final StreamRequest request;
    private final String protocol;
    private final List<Integer> ports;
    private final StreamTargets targets;
    private final boolean base64;
    private Channel channel;
    private Wire wire;
    private RemoteCommand command;
    private final List<Forward> forwards = new ArrayList<>();

    /** {@code protocol} is the negotiated subprotocol, "" when the client asked for none. */
    WsSession(StreamRequest request, String protocol, List<Integer> ports, StreamTargets targets) {
        this.request = request;
        this.protocol = protocol;
        this.ports = ports;
        this.targets = targets;
        this.base64 = protocol.contains("base64");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        wire = new Wire(channel);
    }

    /** Called once the handshake response is out. */
    void open() {
        if (request instanceof StreamRequest.PortForward pf) {
            var remaining = new AtomicInteger(ports.size());
            for (int i = 0; i < ports.size(); i++) {
                int port = ports.get(i);
                byte[] portBytes = {(byte) port, (byte) (port >> 8)};
                int dataChannel = 2 * i;
                int errorChannel = 2 * i + 1;
                send(dataChannel, portBytes);
                send(errorChannel, portBytes);
                forwards.add(new Forward(targets, pf.sandboxId(), port, pipe(dataChannel), pipe(errorChannel), wire,
                        (message, close) -> message.getBytes(StandardCharsets.UTF_8), () -> {
                            if (remaining.decrementAndGet() == 0) closeConnection();
                        }));
            }
            forwards.forEach(Forward::start);
            return;
        }
        boolean json = protocol.startsWith("v4.") || protocol.startsWith("v5.");
        command = new RemoteCommand(request, targets, new Streams(), wire, json);
        // An empty message on the lowest writable channel tells the client the connection is up.
        send(command.wantsStdout() ? 1 : command.wantsStderr() ? 2 : 3, new byte[0]);
        command.start();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case BinaryWebSocketFrame b when !base64 -> message(ByteBufUtil.getBytes(b.content()), false);
                case TextWebSocketFrame t when base64 -> message(t.text().getBytes(StandardCharsets.US_ASCII), true);
                case PingWebSocketFrame p -> ctx.writeAndFlush(new PongWebSocketFrame(p.content().retain()));
                case CloseWebSocketFrame c -> {
                    ctx.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(ChannelFutureListener.CLOSE);
                }
                case WebSocketFrame f -> LOG.debug("ignored WebSocket frame", "type", f.getClass().getSimpleName());
                default -> {
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void message(byte[] raw, boolean text) {
        if (raw.length == 0) return;
        int ch = text ? raw[0] - '0' : raw[0] & 0xff;
        byte[] data;
        if (text) {
            try {
                data = Base64.getDecoder().decode(new String(raw, 1, raw.length - 1, StandardCharsets.US_ASCII));
            } catch (IllegalArgumentException e) {
                LOG.warn("bad base64 message from the client", "channel", ch);
                return;
            }
        } else {
            data = java.util.Arrays.copyOfRange(raw, 1, raw.length);
        }
        if (command != null) {
            if (ch == 0 && command.wantsStdin()) command.stdin(data);
            else if (ch == 4) command.resize(data);
            else if (ch == CLOSE_SIGNAL && protocol.startsWith("v5.") && data.length > 0 && data[0] == 0) command.stdinEnd();
        } else if (ch % 2 == 0 && ch / 2 < forwards.size()) {
            forwards.get(ch / 2).data(data);
        }
    }

    private void send(int ch, byte[] data) {
        if (!channel.isActive()) return;
        if (base64) {
            channel.writeAndFlush(new TextWebSocketFrame((char) ('0' + ch) + Base64.getEncoder().encodeToString(data)));
        } else {
            byte[] frame = new byte[data.length + 1];
            frame[0] = (byte) ch;
            System.arraycopy(data, 0, frame, 1, data.length);
            channel.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(frame)));
        }
    }

    private Forward.Pipe pipe(int ch) {
        return new Forward.Pipe() {
            @Override
            public void write(byte[] data) {
                send(ch, data);
            }

            @Override
            public void close() {
                // wsstream channels have no end of their own: the connection's close ends them
            }
        };
    }

    private void closeConnection() {
        if (!channel.isActive()) return;
        channel.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(ChannelFutureListener.CLOSE);
    }

    private final class Streams implements RemoteCommand.Streams {
        @Override
        public void write(RemoteCommand.Out out, byte[] data) {
            send(out.ordinal() + 1, data);
        }

        @Override
        public void close(RemoteCommand.Out out) {
            // no per-channel end in wsstream
        }

        @Override
        public void closeConnection() {
            WsSession.this.closeConnection();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        wire.writabilityChanged();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (command != null) command.disconnected();
        forwards.forEach(Forward::reset);
        wire.writabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.warn("WebSocket connection failed", "kind", request.kind(), "error", cause.toString());
        ctx.close();
    }
}
