package io.berth.e2e.streaming;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyGoAwayFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small SPDY/3.1 client for the Kubernetes stream protocols, as kubectl's (client-go over
 * moby/spdystream) behaves: an HTTP upgrade with X-Stream-Protocol-Version, then client-opened
 * streams (odd ids) named by a {@code streamtype} header; each waits for the server's SYN_REPLY.
 * Netty's SPDY codec does the framing and header compression.
 */
public final class SpdyClient implements AutoCloseable {
    /** The upgrade was answered with something other than 101. */
    public static final class Refused extends IOException {
        public final int status;

        Refused(int status, String body) {
            super("HTTP " + status + ": " + body.strip());
            this.status = status;
        }
    }

    private final EventLoopGroup group;
    private final Channel channel;
    private final String protocol;
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    public final CompletableFuture<Void> goAway = new CompletableFuture<>();
    public final CompletableFuture<Void> closed = new CompletableFuture<>();

    private SpdyClient(EventLoopGroup group, Channel channel, String protocol) {
        this.group = group;
        this.channel = channel;
        this.protocol = protocol;
    }

    /** Connects to {@code url} (http://host:port/path) and upgrades, offering {@code protocols} in order. */
    public static SpdyClient connect(String url, List<String> protocols) throws IOException, InterruptedException {
        URI uri = URI.create(url);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        var response = new CompletableFuture<FullHttpResponse>();
        var holder = new SpdyClient[1];
        var frames = new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof FullHttpResponse r) {
                    response.complete(r.retainedDuplicate());
                    ReferenceCountUtil.release(msg);
                    if (r.status().code() == 101) {
                        ctx.pipeline().addLast("spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
                        ctx.pipeline().addLast("frames", new Frames(() -> holder[0]));
                        ctx.pipeline().remove(this);
                        ctx.pipeline().remove("aggregate");
                        ctx.pipeline().remove("http");
                    }
                    return;
                }
                ctx.fireChannelRead(msg);
            }
        };
        Channel ch;
        try {
            ch = new Bootstrap().group(group).channel(NioSocketChannel.class).option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast("http", new HttpClientCodec()).addLast("aggregate", new HttpObjectAggregator(1 << 20))
                                    .addLast("upgrade", frames);
                        }
                    })
                    .connect(uri.getHost(), uri.getPort()).sync().channel();
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("connect to " + url + ": " + e, e);
        }
        var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri.getRawPath(), Unpooled.EMPTY_BUFFER);
        req.headers().set(HttpHeaderNames.HOST, uri.getHost() + ":" + uri.getPort())
                .set(HttpHeaderNames.CONNECTION, "Upgrade").set(HttpHeaderNames.UPGRADE, "SPDY/3.1")
                .set(HttpHeaderNames.CONTENT_LENGTH, 0);
        for (String p : protocols) req.headers().add("X-Stream-Protocol-Version", p);
        ch.writeAndFlush(req);
        FullHttpResponse resp;
        try {
            resp = response.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            ch.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("no answer to the upgrade of " + url + ": " + e, e);
        }
        try {
            if (resp.status().code() != 101) {
                ch.close();
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                throw new Refused(resp.status().code(), resp.content().toString(StandardCharsets.UTF_8));
            }
            var client = new SpdyClient(group, ch, resp.headers().get("X-Stream-Protocol-Version", ""));
            holder[0] = client;
            ch.closeFuture().addListener(f -> client.closed());
            return client;
        } finally {
            resp.release();
        }
    }

    private void closed() {
        closed.complete(null);
        streams.values().forEach(s -> s.ended(false));
    }

    public String protocol() {
        return protocol;
    }

    /** Opens a stream with these headers and waits for the server's reply. */
    public Stream open(Map<String, String> headers) throws IOException {
        int id = nextId.getAndAdd(2);
        var s = new Stream(id);
        streams.put(id, s);
        var syn = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
        headers.forEach((k, v) -> syn.headers().set(k, v));
        channel.writeAndFlush(syn);
        try {
            s.replied.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("stream " + headers + " was not accepted: " + e.getMessage(), e);
        }
        return s;
    }

    /** Sends GOAWAY and closes the connection (what kubectl does when it is done). */
    @Override
    public void close() {
        if (channel.isActive()) {
            channel.writeAndFlush(new DefaultSpdyGoAwayFrame(0)).addListener(f -> channel.close());
        }
        try {
            channel.closeFuture().await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** One client-opened stream. */
    public final class Stream {
        private static final byte[] EOF = new byte[0];
        public final int id;
        final CompletableFuture<Void> replied = new CompletableFuture<>();
        private final LinkedBlockingQueue<byte[]> data = new LinkedBlockingQueue<>();
        private volatile boolean reset;
        private boolean atEnd;

        Stream(int id) {
            this.id = id;
        }

        public void write(byte[] bytes) {
            channel.writeAndFlush(new DefaultSpdyDataFrame(id, Unpooled.wrappedBuffer(bytes)));
        }

        public void write(String text) {
            write(text.getBytes(StandardCharsets.UTF_8));
        }

        /** Half-closes: FIN on this stream. */
        public void finish() {
            channel.writeAndFlush(new DefaultSpdyDataFrame(id).setLast(true));
        }

        public void reset() {
            channel.writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.CANCEL));
        }

        public boolean wasReset() {
            return reset;
        }

        /** The next chunk, null at the end of the stream; throws on timeout. */
        public byte[] read(Duration timeout) throws IOException, InterruptedException {
            if (atEnd) return null;
            byte[] b = data.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (b == null) throw new IOException("nothing on stream " + id + " within " + timeout);
            if (b == EOF) {
                atEnd = true;
                return null;
            }
            return b;
        }

        /** Everything until the server ends the stream (FIN, reset, or the connection closing). */
        public byte[] readAll(Duration timeout) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            var out = new ByteArrayOutputStream();
            byte[] b;
            while ((b = read(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) != null) out.writeBytes(b);
            return out.toByteArray();
        }

        /** Counts (and drops) everything until the server ends the stream; returns the byte count. */
        public long drain(Duration timeout) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            long n = 0;
            byte[] b;
            while ((b = read(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) != null) n += b.length;
            return n;
        }

        /** Reads until the text received so far contains {@code expected}; returns all of it. */
        public String readUntil(String expected, Duration timeout) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            var out = new StringBuilder();
            while (!out.toString().contains(expected)) {
                byte[] b = read(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                if (b == null) throw new IOException("stream " + id + " ended before '" + expected + "': " + out);
                out.append(new String(b, StandardCharsets.UTF_8));
            }
            return out.toString();
        }

        void received(byte[] b) {
            data.add(b);
        }

        void ended(boolean byReset) {
            if (byReset) reset = true;
            data.add(EOF);
        }
    }

    /** Inbound frames after the upgrade. */
    private static final class Frames extends ChannelInboundHandlerAdapter {
        private final java.util.function.Supplier<SpdyClient> client;

        Frames(java.util.function.Supplier<SpdyClient> client) {
            this.client = client;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                SpdyClient c = client.get();
                switch (msg) {
                    case SpdySynReplyFrame r -> {
                        Stream s = c.streams.get(r.streamId());
                        if (s != null) s.replied.complete(null);
                    }
                    case SpdyDataFrame d -> {
                        Stream s = c.streams.get(d.streamId());
                        if (s == null) return;
                        if (d.content().isReadable()) s.received(ByteBufUtil.getBytes(d.content()));
                        if (d.isLast()) s.ended(false);
                    }
                    case SpdyRstStreamFrame r -> {
                        Stream s = c.streams.get(r.streamId());
                        if (s != null) {
                            s.replied.completeExceptionally(new IOException("stream reset: " + r.status()));
                            s.ended(true);
                        }
                    }
                    case SpdyGoAwayFrame g -> c.goAway.complete(null);
                    default -> {
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }
}
