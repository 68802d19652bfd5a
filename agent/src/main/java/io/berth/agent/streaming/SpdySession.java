package io.berth.agent.streaming;

import io.berth.agent.log.Log;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyGoAwayFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynStreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A SPDY/3.1 connection after the upgrade, speaking the Kubernetes stream protocols on top of
 * Netty's frame codec. The client opens every stream (SYN_STREAM with a {@code streamtype} header)
 * and the server replies to each (moby/spdystream, as kubelet uses it); flow-control windows are
 * neither sent nor enforced, as spdystream does neither.
 * <ul>
 * <li>exec/attach ({@code v2}-{@code v5.channel.k8s.io}): streams error, stdin, stdout, stderr,
 *   resize; the session starts once all the ones the request implies are open
 *   (remotecommand/httpstream.go), or the connection is dropped after the creation timeout.
 * <li>port-forward ({@code portforward.k8s.io}): each forwarded connection is a pair of streams,
 *   error and data, with the same {@code requestid} and a {@code port} header
 *   (portforward/httpstream.go); any number of pairs run at once.
 * </ul>
 */
final class SpdySession extends ChannelInboundHandlerAdapter {
    private static final Log LOG = Log.get(SpdySession.class);

    private final StreamRequest request;
    private final String protocol;
    private final StreamTargets targets;
    private final Duration creationTimeout;
    private Wire wire;
    private Channel channel;
    private int lastStreamId;

    /** Inbound routes: stream id to what its data, its end and its reset go to. */
    private record Route(Consumer<byte[]> data, Runnable end, Runnable reset) {
    }

    private final Map<Integer, Route> routes = new ConcurrentHashMap<>();
    /** Stream ids the server has finished (FIN sent), so that nothing is written after. */
    private final Set<Integer> finished = ConcurrentHashMap.newKeySet();

    // exec/attach
    private RemoteCommand command;
    private final Map<RemoteCommand.Out, Integer> outStreams = new ConcurrentHashMap<>();
    private int expected;
    private int received;

    // port-forward
    private record Half(int streamId, int port) {
    }

    private final Map<String, Half> dataHalves = new ConcurrentHashMap<>();
    private final Map<String, Half> errorHalves = new ConcurrentHashMap<>();

    SpdySession(StreamRequest request, String protocol, StreamTargets targets, Duration creationTimeout) {
        this.request = request;
        this.protocol = protocol;
        this.targets = targets;
        this.creationTimeout = creationTimeout;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        wire = new Wire(channel);
        if (!(request instanceof StreamRequest.PortForward)) {
            boolean json = protocol.equals("v4.channel.k8s.io") || protocol.equals("v5.channel.k8s.io");
            command = new RemoteCommand(request, targets, new Streams(), wire, json);
            boolean resizable = !protocol.equals("v2.channel.k8s.io");
            expected = 1 + (command.wantsStdin() ? 1 : 0) + (command.wantsStdout() ? 1 : 0)
                    + (command.wantsStderr() ? 1 : 0) + (command.tty() && resizable ? 1 : 0);
            ctx.executor().schedule(() -> {
                if (received < expected) {
                    LOG.warn("client did not create its streams in time", "kind", request.kind(),
                            "expected", expected, "received", received);
                    goAway();
                }
            }, creationTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case SpdySynStreamFrame syn -> synStream(ctx, syn);
                case SpdyDataFrame d -> {
                    Route r = routes.get(d.streamId());
                    if (r != null) {
                        if (d.content().isReadable()) r.data().accept(ByteBufUtil.getBytes(d.content()));
                        if (d.isLast()) r.end().run();
                    }
                }
                case SpdyRstStreamFrame rst -> {
                    Route r = routes.remove(rst.streamId());
                    finished.add(rst.streamId());
                    if (r != null) r.reset().run();
                }
                case SpdyPingFrame ping -> {
                    // Pings from the client (odd ids) are echoed (SPDY/3 section 2.6.5).
                    if ((ping.id() & 1) == 1) ctx.writeAndFlush(ping);
                }
                case SpdyGoAwayFrame g -> ctx.close();
                default -> {
                    // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (no flow control, as spdystream)
                }
            }
        } finally {
            ReferenceCountUtil.release(msg); // data frames hold buffers; the others are plain objects
        }
    }

    private void synStream(ChannelHandlerContext ctx, SpdySynStreamFrame syn) {
        int id = syn.streamId();
        lastStreamId = Math.max(lastStreamId, id);
        String type = syn.headers().getAsString("streamtype");
        if (type == null) type = "";
        if (command != null) {
            Route route = switch (type) {
                case "error" -> output(RemoteCommand.Out.ERROR, id);
                case "stdout" -> output(RemoteCommand.Out.STDOUT, id);
                case "stderr" -> output(RemoteCommand.Out.STDERR, id);
                case "stdin" -> new Route(command::stdin, command::stdinEnd, command::stdinEnd);
                case "resize" -> new Route(command::resize, () -> { }, () -> { });
                default -> null;
            };
            if (route == null) {
                reset(ctx, id, "unexpected stream type \"" + type + "\"");
                return;
            }
            routes.put(id, route);
            reply(ctx, id);
            if (syn.isLast()) route.end().run();
            if (++received == expected) command.start();
        } else {
            portForwardStream(ctx, syn, id, type);
        }
    }

    private Route output(RemoteCommand.Out out, int id) {
        outStreams.put(out, id);
        return new Route(b -> { }, () -> { }, () -> finished.add(id));
    }

    /** A port-forward stream: validated as kubelet's httpStreamReceived does, then paired by request id. */
    private void portForwardStream(ChannelHandlerContext ctx, SpdySynStreamFrame syn, int id, String type) {
        String portText = syn.headers().getAsString("port");
        int port;
        try {
            port = Integer.parseInt(portText == null ? "" : portText);
        } catch (NumberFormatException e) {
            reset(ctx, id, "\"port\" header is required and must be a port, got " + portText);
            return;
        }
        if (port < 1 || port > 65535) {
            reset(ctx, id, "port " + port + " must be 1-65535");
            return;
        }
        if (!type.equals("error") && !type.equals("data")) {
            reset(ctx, id, "invalid stream type \"" + type + "\"");
            return;
        }
        String requestId = syn.headers().getAsString("requestid");
        if (requestId == null || requestId.isEmpty()) {
            // Old clients without request ids: kubelet pairs error stream N with data stream N+2.
            requestId = Integer.toString(type.equals("error") ? id : id - 2);
        }
        reply(ctx, id);
        var half = new Half(id, port);
        Half other;
        if (type.equals("data")) {
            if (dataHalves.putIfAbsent(requestId, half) != null) {
                reset(ctx, id, "data stream already assigned for request " + requestId);
                return;
            }
            other = errorHalves.get(requestId);
        } else {
            if (errorHalves.putIfAbsent(requestId, half) != null) {
                reset(ctx, id, "error stream already assigned for request " + requestId);
                return;
            }
            other = dataHalves.get(requestId);
        }
        if (other == null) {
            String rid = requestId;
            ctx.executor().schedule(() -> {
                if (dataHalves.containsKey(rid) ^ errorHalves.containsKey(rid)) {
                    Half lone = dataHalves.containsKey(rid) ? dataHalves.remove(rid) : errorHalves.remove(rid);
                    LOG.warn("port forward: timed out waiting for streams", "request", rid);
                    reset(ctx, lone.streamId(), "timed out waiting for streams");
                }
            }, creationTimeout.toMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        Half data = dataHalves.remove(requestId);
        Half error = errorHalves.remove(requestId);
        var pf = (StreamRequest.PortForward) request;
        var forward = new Forward(targets, pf.sandboxId(), data.port(), pipe(data.streamId()), pipe(error.streamId()), wire,
                (message, close) -> json(message, close), () -> routes.remove(data.streamId()));
        routes.put(data.streamId(), new Route(forward::data, forward::end, forward::reset));
        routes.put(error.streamId(), new Route(b -> { }, () -> { }, () -> { }));
        forward.start();
    }

    /** kubelet's portForwardErrResponse: {"closeConnection":..., "message":...}. */
    private static byte[] json(String message, boolean closeConnection) {
        var sb = new StringBuilder("{");
        if (closeConnection) sb.append("\"closeConnection\":true,");
        sb.append("\"message\":").append(quote(message)).append("}\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String quote(String s) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private Forward.Pipe pipe(int streamId) {
        return new Forward.Pipe() {
            @Override
            public void write(byte[] data) {
                writeData(streamId, data);
            }

            @Override
            public void close() {
                finish(streamId);
            }
        };
    }

    private void reply(ChannelHandlerContext ctx, int id) {
        ctx.writeAndFlush(new DefaultSpdySynReplyFrame(id));
    }

    private void reset(ChannelHandlerContext ctx, int id, String why) {
        LOG.warn("SPDY stream refused", "stream", id, "why", why);
        finished.add(id);
        ctx.writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.PROTOCOL_ERROR));
    }

    private void writeData(int streamId, byte[] data) {
        if (finished.contains(streamId) || !channel.isActive()) return;
        channel.writeAndFlush(new DefaultSpdyDataFrame(streamId, Unpooled.wrappedBuffer(data)));
    }

    /** FIN on a server-side stream, once. */
    private void finish(int streamId) {
        if (!finished.add(streamId) || !channel.isActive()) return;
        channel.writeAndFlush(new DefaultSpdyDataFrame(streamId).setLast(true));
    }

    /** GOAWAY, then close once everything written so far is out (spdystream's Close). */
    private void goAway() {
        if (!channel.isActive()) return;
        channel.writeAndFlush(new DefaultSpdyGoAwayFrame(lastStreamId)).addListener(ChannelFutureListener.CLOSE);
    }

    /** The exec/attach session's view of the connection. */
    private final class Streams implements RemoteCommand.Streams {
        @Override
        public void write(RemoteCommand.Out out, byte[] data) {
            Integer id = outStreams.get(out);
            if (id != null) writeData(id, data);
        }

        @Override
        public void close(RemoteCommand.Out out) {
            Integer id = outStreams.get(out);
            if (id != null) finish(id);
        }

        @Override
        public void closeConnection() {
            goAway();
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
        routes.values().forEach(r -> r.reset().run());
        routes.clear();
        wire.writabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.warn("SPDY connection failed", "kind", request.kind(), "error", cause.toString());
        ctx.close();
    }
}
