package io.berth.agent;

import io.berth.agent.config.AgentConfig;
import io.berth.agent.config.ConfigLoader;
import io.berth.agent.log.Logging;
import io.berth.cri.v1.RuntimeServiceGrpc;
import io.berth.cri.v1.StatusRequest;
import io.berth.cri.v1.VersionRequest;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

/**
 * The training run for the agent's AOT cache (JEP 483/514), run by the build with
 * {@code -XX:AOTCacheOutput}: it starts an agent in a scratch directory, serves a few CRI calls and
 * a metrics scrape, waits for the agent's pull warm-up, and stops, so the classes of start-up, of a
 * first call and of a pull's registry exchange and unpack are in the cache.
 * With the cache the agent is ready in about a third of the time (see the bench harness).
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws Exception {
        Logging.configure(Level.WARNING);
        Path dir = Files.createTempDirectory("berth-aot-");
        // A build leaves the node's settings as they were: no KSM switched on.
        Path file = Files.writeString(dir.resolve("config.toml"), "shim_memory_sharing = false\n");
        AgentConfig config = ConfigLoader.load(ConfigLoader.parse(List.of("--config", file.toString(),
                "--socket", dir.resolve("berth.sock").toString(), "--state-dir", dir.resolve("state").toString(),
                "--run-dir", dir.resolve("run").toString(), "--http-port", "0")));
        Agent agent = Agent.start(config);
        var group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        var channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(config.socket()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group)
                .overrideAuthority("localhost").usePlaintext().build();
        try {
            var cri = RuntimeServiceGrpc.newBlockingStub(channel);
            for (int i = 0; i < 20; i++) {
                cri.version(VersionRequest.getDefaultInstance());
                cri.status(StatusRequest.newBuilder().setVerbose(true).build());
            }
            // The pull path's classes too: the agent's own warm-up (a registry exchange, two unpacks).
            agent.awaitWarmUp(java.time.Duration.ofSeconds(60));
            try (var http = HttpClient.newHttpClient()) {
                http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString());
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            agent.stop();
            io.berth.agent.util.FileTrees.delete(dir);
        }
        System.exit(0);
    }
}
