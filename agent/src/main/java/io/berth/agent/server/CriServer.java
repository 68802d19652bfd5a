package io.berth.agent.server;

import io.berth.agent.log.Log;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The CRI gRPC server on a unix socket (grpc-java over Netty epoll). Calls run on virtual threads,
 * so a handler may block on disk or on a shim without holding up the transport; kernel work that is
 * sensitive to its thread never runs here (it belongs to the shims and their dedicated threads).
 */
public final class CriServer implements AutoCloseable {
    private static final Log LOG = Log.get(CriServer.class);

    /** kubelet's CRI client caps messages at 16 MiB (k8s.io/cri-client utils.go maxMsgSize); so do we. */
    public static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

    private final Path socket;
    private final SocketClaim claim;
    private final Server server;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ExecutorService calls;

    private CriServer(Path socket, SocketClaim claim, Server server, EventLoopGroup boss,
            EventLoopGroup workers, ExecutorService calls) {
        this.socket = socket;
        this.claim = claim;
        this.server = server;
        this.boss = boss;
        this.workers = workers;
        this.calls = calls;
    }

    public static CriServer start(Path socket, CriBoundary boundary, List<BindableService> services)
            throws IOException {
        SocketClaim claim = SocketClaim.claim(socket);
        var boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        var workers = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        var calls = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("cri-", 0).factory());
        var builder = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class)
                .bossEventLoopGroup(boss)
                .workerEventLoopGroup(workers)
                .executor(calls)
                .maxInboundMessageSize(MAX_MESSAGE_BYTES);
        for (BindableService service : services) {
            builder.addService(ServerInterceptors.intercept(service, boundary));
        }
        Server server;
        try {
            server = builder.build().start();
            // 0660: root and the socket's group (an operator's crictl group) may call the runtime.
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
        } catch (IOException | RuntimeException e) {
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            calls.shutdownNow();
            claim.close();
            throw new IOException("listen on " + socket + ": " + e.getMessage(), e);
        }
        LOG.info("serving CRI", "socket", socket);
        return new CriServer(socket, claim, server, boss, workers, calls);
    }

    public boolean serving() {
        return !server.isShutdown();
    }

    /** Stops accepting calls, lets those in flight finish within the grace period, removes the socket. */
    public void stop(long graceSeconds) throws IOException, InterruptedException {
        server.shutdown();
        if (!server.awaitTermination(graceSeconds, TimeUnit.SECONDS)) {
            LOG.warn("CRI calls still running after the grace period; cancelling them", "grace_s", graceSeconds);
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
        calls.shutdown();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(2, TimeUnit.SECONDS);
        claim.close();
        LOG.info("stopped serving CRI", "socket", socket);
    }

    @Override
    public void close() throws IOException {
        try {
            stop(0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
