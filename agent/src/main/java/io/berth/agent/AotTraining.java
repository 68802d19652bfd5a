package io.berth.agent;

import io.berth.agent.config.AgentConfig;
import io.berth.agent.config.ConfigLoader;
import io.berth.agent.image.TrainingRegistry;
import io.berth.agent.log.Logging;
import io.berth.cri.v1.ImageFsInfoRequest;
import io.berth.cri.v1.ImageServiceGrpc;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.ImageStatusRequest;
import io.berth.cri.v1.ListContainersRequest;
import io.berth.cri.v1.ListPodSandboxRequest;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemoveImageRequest;
import io.berth.cri.v1.RuntimeServiceGrpc;
import io.berth.cri.v1.StatusRequest;
import io.berth.cri.v1.VersionRequest;
import io.berth.kernel.cgroup.Cgroups;
import io.berth.net.netlink.LinkDel;
import io.berth.net.netlink.NetlinkClient;
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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

/**
 * The training run for the agent's AOT cache (JEP 483/514), run by the build with
 * {@code -XX:AOTCacheOutput}: it starts an agent in a scratch directory, serves a few CRI calls and
 * a metrics scrape, waits for the agent's pull warm-up, pulls and removes an image of its own
 * registry {@value #TRAINING_PULLS} times, runs, inspects and removes waves of real pods
 * ({@link PodTraining}; as root, with busybox-static), and stops, so the classes of start-up, of a
 * first call, of the pull path and of the pod path are in the cache, with their method profiles.
 * With the cache the agent is ready in about a third of the time (see the bench harness).
 */
public final class AotTraining {
    /** Measured: 40 pulls in training, and a fresh agent's JIT settles after ~20 cold pulls, not ~150. */
    static final int TRAINING_PULLS = 40;
    /** Rounds of the calls kubelet makes most (Version, a present image's PullImage, the lists). */
    static final int TRAINING_CALLS = 1000;

    private AotTraining() {
    }

    /** Trains, then exits (1 on a failure, which fails the build): no thread left running can hold the JVM. */
    public static void main(String[] args) {
        try {
            train();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private static void train() throws Exception {
        Logging.configure(Level.WARNING);
        Path dir = Files.createTempDirectory("berth-aot-");
        String noPods = PodTraining.missing();
        var registry = TrainingRegistry.start(10 << 20, noPods == null ? PodTraining.BUSYBOX : null);
        long pid = ProcessHandle.current().pid();
        String bridge = "baot" + pid;
        String cgroupParent = "/berth-aot-agent-" + pid;
        // A build leaves the node's settings as they were: no KSM switched on. The training registry
        // speaks plain HTTP only (it would not answer the HTTPS probe of an unconfigured one). The
        // training's pods get a bridge, CIDR and firewall table of their own, removed afterwards.
        Path file = Files.writeString(dir.resolve("config.toml"), "shim_memory_sharing = false\n"
                + "[images.registries.\"" + registry.host() + "\"]\ninsecure = true\n"
                + (noPods != null ? "" : "[network]\nbridge = \"" + bridge + "\"\npod_cidrs = [\"10.216.0.0/24\"]\n"
                        + "firewall_table = \"berth_aot_" + pid + "\"\n"));
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
            agent.awaitWarmUp(Duration.ofSeconds(60));
            // Then many real pulls of a ~5 MB image from a loopback registry of its own: the cache
            // keeps the method profiles of what ran (JEP 515), and a node's agent starts with the
            // profiles of a pull path that has run 40 times, not twice (see TrainingRegistry).
            var images = ImageServiceGrpc.newBlockingStub(channel);
            var image = ImageSpec.newBuilder().setImage(registry.reference()).build();
            for (int i = 0; i < TRAINING_PULLS; i++) {
                images.pullImage(PullImageRequest.newBuilder().setImage(image).build()); // cold
                images.pullImage(PullImageRequest.newBuilder().setImage(image).build()); // present: a HEAD
                images.imageStatus(ImageStatusRequest.newBuilder().setImage(image).build());
                images.removeImage(RemoveImageRequest.newBuilder().setImage(image).build());
            }
            if (noPods == null) {
                new PodTraining(cri, images, dir, cgroupParent).run(registry);
            } else {
                System.out.println("NOTICE: the agent's AOT training runs no pods (" + noPods
                        + "): a fresh agent's first pods will run slower");
            }
            // And the calls a node's kubelet makes all the time, as often as it makes them in its
            // first minutes (PLEG relists every second; PullImage of a present image by digest).
            var present = ImageSpec.newBuilder().setImage(registry.referenceByDigest()).build();
            images.pullImage(PullImageRequest.newBuilder().setImage(present).build());
            for (int i = 0; i < TRAINING_CALLS; i++) {
                cri.version(VersionRequest.getDefaultInstance());
                images.pullImage(PullImageRequest.newBuilder().setImage(present).build());
                cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance());
                cri.listContainers(ListContainersRequest.getDefaultInstance());
                images.imageFsInfo(ImageFsInfoRequest.getDefaultInstance());
            }
            try (var http = HttpClient.newHttpClient()) {
                http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString());
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            agent.stop();
            registry.close();
            if (noPods == null) { // what the agent leaves for pods that outlive it (there are none)
                try (var netlink = NetlinkClient.open()) {
                    netlink.execute(new LinkDel(bridge));
                }
                Cgroups.host().open(cgroupParent).remove(Duration.ofSeconds(10));
            }
            io.berth.agent.util.FileTrees.delete(dir);
        }
    }
}
