package io.berth.agent.streaming;

import io.berth.agent.log.Log;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * berth's streaming server, the counterpart of kubelet's (k8s.io/kubelet/pkg/cri/streaming):
 * Exec, Attach and PortForward hand out {@code http://ADDRESS:PORT/KIND/TOKEN}; a client brings
 * the token back with an upgrade to SPDY/3.1 or WebSocket and speaks the Kubernetes stream
 * protocols over it. A token works once and only for its time-to-live; any other gets 404 and
 * nothing runs. One Netty listener serves both upgrades: Vert.x's server offers no SPDY, and the
 * SPDY framing comes from Netty's codec (the protocol logic is {@link SpdySession}, {@link WsSession}).
 */
public final class StreamingServer implements AutoCloseable {
    private static final Log LOG = Log.get(StreamingServer.class);
    /** remotecommand's SupportedStreamingProtocols over SPDY, newest first (v1 is not offered). */
    static final List<String> SPDY_EXEC_PROTOCOLS = List.of("v5.channel.k8s.io", "v4.channel.k8s.io",
            "v3.channel.k8s.io", "v2.channel.k8s.io");
    static final List<String> SPDY_PORT_FORWARD_PROTOCOLS = List.of("portforward.k8s.io");
    /** remotecommandconsts.DefaultStreamCreationTimeout. */
    static final Duration STREAM_CREATION_TIMEOUT = Duration.ofSeconds(30);

    private final TokenStore tokens;
    private final StreamTargets targets;
    private final EventLoopGroup group;
    private volatile Channel listener;
    private volatile String baseUrl;

    private StreamingServer(TokenStore tokens, StreamTargets targets, EventLoopGroup group) {
        this.tokens = tokens;
        this.targets = targets;
        this.group = group;
    }

    public static StreamingServer start(String address, int port, TokenStore tokens, StreamTargets targets)
            throws IOException {
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        var server = new StreamingServer(tokens, targets, group);
        try {
            server.listener = new ServerBootstrap().group(group)
                    .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 1 << 20))
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast("http", new HttpServerCodec())
                                    .addLast("aggregate", new HttpObjectAggregator(64 * 1024))
                                    .addLast("upgrade", server.new Upgrade());
                        }
                    })
                    .bind(address, port).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("listen for streams on " + address + ":" + port + ": " + e.getMessage(), e);
        }
        int actual = server.port();
        String host = address.contains(":") ? "[" + address + "]" : address;
        server.baseUrl = "http://" + host + ":" + actual;
        LOG.info("serving streams", "address", address, "port", actual, "paths", "/exec,/attach,/portforward");
        return server;
    }

    /** Registers {@code request} and returns its single-use URL. */
    public String url(StreamRequest request) {
        return baseUrl + "/" + request.kind() + "/" + tokens.insert(request);
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The first HTTP request of a connection: token check, then the SPDY or WebSocket upgrade. */
    private final class Upgrade extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            var uri = new QueryStringDecoder(req.uri());
            String[] parts = uri.path().split("/");
            if (!(req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.POST)) || parts.length != 3
                    || !parts[0].isEmpty()) {
                respond(ctx, HttpResponseStatus.NOT_FOUND, "404 page not found");
                return;
            }
            Optional<StreamRequest> found = tokens.consume(parts[2]).filter(r -> r.kind().equals(parts[1]));
            if (found.isEmpty()) {
                // Unknown, used or expired: like kubelet's http.NotFound, and nothing runs.
                respond(ctx, HttpResponseStatus.NOT_FOUND, "404 page not found");
                return;
            }
            // No second look at the container here: the session's start checks it, and a failure
            // goes to the client on the error stream, as kubelet's server reports it.
            StreamRequest request = found.get();
            String upgrade = req.headers().get(HttpHeaderNames.UPGRADE, "");
            String connection = req.headers().get(HttpHeaderNames.CONNECTION, "").toLowerCase(Locale.ROOT);
            if (!connection.contains("upgrade")) {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, "unable to upgrade: missing upgrade headers in request");
                return;
            }
            if (upgrade.equalsIgnoreCase("websocket")) {
                webSocket(ctx, req, request, uri);
            } else if (upgrade.equalsIgnoreCase("SPDY/3.1")) {
                spdy(ctx, req, request);
            } else {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, "unable to upgrade: unsupported protocol " + upgrade
                        + " (SPDY/3.1 or websocket)");
            }
        }

        /** httpstream.Handshake: the first of the client's X-Stream-Protocol-Version values we speak. */
        private void spdy(ChannelHandlerContext ctx, FullHttpRequest req, StreamRequest request) {
            List<String> offered = new ArrayList<>();
            for (String v : req.headers().getAll("X-Stream-Protocol-Version")) {
                for (String p : v.split(",")) if (!p.isBlank()) offered.add(p.trim());
            }
            List<String> supported = request instanceof StreamRequest.PortForward ? SPDY_PORT_FORWARD_PROTOCOLS
                    : SPDY_EXEC_PROTOCOLS;
            if (offered.isEmpty()) {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, "unable to upgrade: X-Stream-Protocol-Version is required");
                return;
            }
            String chosen = offered.stream().filter(supported::contains).findFirst().orElse(null);
            if (chosen == null) {
                var resp = response(HttpResponseStatus.FORBIDDEN, "unable to upgrade: unable to negotiate protocol: client "
                        + "supports " + offered + ", server accepts " + supported);
                resp.headers().add("X-Accepted-Stream-Protocol-Versions", String.join(",", supported));
                ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            var resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
            resp.headers().set(HttpHeaderNames.CONNECTION, "Upgrade").set(HttpHeaderNames.UPGRADE, "SPDY/3.1")
                    .set("X-Stream-Protocol-Version", chosen);
            ctx.writeAndFlush(resp);
            var p = ctx.pipeline();
            p.addLast("spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
            p.addLast("session", new SpdySession(request, chosen, targets, STREAM_CREATION_TIMEOUT));
            p.remove(this);
            p.remove("aggregate");
            p.remove("http");
            LOG.debug("stream upgraded", "kind", request.kind(), "protocol", chosen);
        }

        private void webSocket(ChannelHandlerContext ctx, FullHttpRequest req, StreamRequest request, QueryStringDecoder uri) {
            List<Integer> ports = List.of();
            if (request instanceof StreamRequest.PortForward pf) {
                ports = pf.ports();
                if (ports.isEmpty()) {
                    // portforward.NewV4Options: the ports may come in the query instead.
                    try {
                        ports = uri.parameters().getOrDefault("port", List.of()).stream()
                                .flatMap(v -> java.util.Arrays.stream(v.split(","))).map(Integer::parseInt).toList();
                    } catch (NumberFormatException e) {
                        respond(ctx, HttpResponseStatus.BAD_REQUEST, "unable to parse the port query parameter: " + e.getMessage());
                        return;
                    }
                }
                if (ports.isEmpty() || ports.stream().anyMatch(x -> x < 1 || x > 65535)) {
                    respond(ctx, HttpResponseStatus.BAD_REQUEST, "query parameter \"port\" is required, ports 1-65535");
                    return;
                }
            }
            List<String> supported = request instanceof StreamRequest.PortForward ? WsSession.PORT_FORWARD_PROTOCOLS
                    : WsSession.EXEC_PROTOCOLS;
            String requested = req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL, "");
            List<String> offered = java.util.Arrays.stream(requested.split(",")).map(String::trim)
                    .filter(s -> !s.isEmpty()).toList();
            String chosen = offered.stream().filter(supported::contains).findFirst().orElse("");
            if (!offered.isEmpty() && chosen.isEmpty()) {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, "requested protocol(s) are not supported: " + offered
                        + "; supports " + supported);
                return;
            }
            var factory = new WebSocketServerHandshakerFactory(baseUrl + uri.path(),
                    chosen.isEmpty() ? null : chosen, false, 16 << 20);
            WebSocketServerHandshaker handshaker = factory.newHandshaker(req);
            if (handshaker == null) {
                WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
                return;
            }
            var session = new WsSession(request, chosen, ports, targets);
            var p = ctx.pipeline();
            p.addLast("ws-aggregate", new WebSocketFrameAggregator(16 << 20));
            p.addLast("session", session);
            p.remove(this);
            handshaker.handshake(ctx.channel(), req).addListener(f -> {
                if (f.isSuccess()) {
                    session.open();
                } else {
                    LOG.warn("WebSocket handshake failed", "error", String.valueOf(f.cause()));
                    ctx.close();
                }
            });
        }

        private static DefaultFullHttpResponse response(HttpResponseStatus status, String body) {
            var resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body + "\n", StandardCharsets.UTF_8));
            resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, resp.content().readableBytes());
            return resp;
        }

        private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
            ctx.writeAndFlush(response(status, body)).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.warn("streaming request failed", "error", cause.toString());
            ctx.close();
        }
    }
}
