package io.berth.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.berth.agent.config.AgentConfig;
import io.berth.agent.cri.CriImageService;
import io.berth.agent.cri.CriRuntimeService;
import io.berth.agent.cri.Observability;
import io.berth.agent.events.ContainerEvents;
import io.berth.agent.shim.ShimReports;
import io.berth.agent.stats.NodeMetrics;
import io.berth.agent.stats.StatsService;
import io.berth.kernel.BootId;
import io.berth.kernel.Processes;
import io.berth.kernel.Syscalls;
import io.berth.kernel.cgroup.CgroupStatsReader;
import io.berth.agent.cri.container.ContainerFilesystems;
import io.berth.agent.cri.runtime.RuntimeConfig;
import io.berth.agent.cri.runtime.Status;
import io.berth.agent.cri.runtime.Version;
import io.berth.agent.domain.NodeConditions;
import io.berth.agent.domain.NodeConditions.Condition;
import io.berth.agent.domain.RuntimeInfo;
import io.berth.agent.image.ImagePuller;
import io.berth.agent.image.ImageSystem;
import io.berth.agent.image.PullMetrics;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.host.CgroupDynmods;
import io.berth.agent.host.JitPriority;
import io.berth.agent.host.KernelPodCgroups;
import io.berth.agent.host.KernelPodNamespaces;
import io.berth.agent.host.NetpluginPodNetwork;
import io.berth.agent.host.SamepageMerging;
import io.berth.agent.host.ShimPodInit;
import io.berth.agent.host.StoreImageSource;
import io.berth.agent.log.Log;
import io.berth.agent.pod.PodManager;
import io.berth.agent.shim.ShimRuntime;
import io.berth.agent.shim.ShimStreamTargets;
import io.berth.agent.streaming.StreamingServer;
import io.berth.agent.streaming.TokenStore;
import io.berth.kernel.cgroup.Cgroups;
import io.berth.net.NetworkConfig;
import io.berth.net.PodNetworks;
import io.berth.agent.server.CriBoundary;
import io.berth.agent.server.CriMetrics;
import io.berth.agent.server.CriServer;
import io.berth.agent.server.HttpEndpoints;
import io.berth.agent.util.Cleanups;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.hotspot.DefaultExports;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The berth agent: one per node. Start-up is a list of named steps, each registering its undo, so
 * that a failure part-way leaves nothing behind; {@link #stop()} runs the same undo list.
 */
public final class Agent {
    private static final Log LOG = Log.get(Agent.class);

    private final AgentConfig config;
    private final Cleanups cleanups;
    private final CriServer cri;
    private final HttpEndpoints http;
    private final Thread warmUp;

    private Agent(AgentConfig config, Cleanups cleanups, CriServer cri, HttpEndpoints http, Thread warmUp) {
        this.warmUp = warmUp;
        this.config = config;
        this.cleanups = cleanups;
        this.cri = cri;
        this.http = http;
    }

    public static Agent start(AgentConfig config) throws IOException {
        long started = System.nanoTime();
        var cleanups = new Cleanups();
        try {
            Files.createDirectories(config.stateDirPath());
            Files.createDirectories(config.runDirPath());
            if (config.cgroupFavorDynmods()) {
                cleanups.push("unmount the favordynmods cgroup hierarchy", CgroupDynmods.favor(config.runDirPath())::close);
            }

            var registry = new CollectorRegistry();
            DefaultExports.register(registry);
            var driver = RuntimeInfo.cgroupDriver(config.cgroupDriver(), Path.of("/proc"));

            // The image store and puller; the container side leases layers from its store.
            ImagePuller images = ImageSystem.open(config, new PullMetrics(registry));
            cleanups.push("close image store", images.store()::close);

            NetpluginPodNetwork network = new NetpluginPodNetwork(PodNetworks.create(networkConfig(config)));
            cleanups.push("close pod network", network::close);
            if (config.shimMemorySharing()) {
                SamepageMerging.start();
            }
            // Shims push their samples and exits to RUN_DIR/shims.sock (ShimReports, started below).
            var shims = ShimRuntime.withPool(Path.of(config.shimDir()), config.runDirPath().resolve("shim-pool"),
                    config.shimPool(), driver, config.runDirPath().resolve(ShimReports.SOCKET), config.statsInterval(),
                    config.procMount().equals("helper"), config.shimMemorySharing());
            cleanups.push("stop idle shims", shims::close);
            var pods = new PodManager(config.stateDirPath(), config.runDirPath(), new KernelPodNamespaces(),
                    new KernelPodCgroups(Cgroups.host(), driver), network,
                    new ShimPodInit(shims, Path.of(config.pauseBinary()), config.runDirPath()), BootId.current());
            var containers = new ContainerManager(config.stateDirPath(), config.runDirPath(), pods,
                    new StoreImageSource(images.store()), shims);
            // Run after the CRI server has stopped (cleanups unwind in reverse): the last changes on disk.
            cleanups.push("write pending container records", containers::awaitRecordWrites);
            var stats = new StatsService(CgroupStatsReader.host(), config.stateDirPath().resolve("containers"),
                    config.statsInterval());
            var events = new ContainerEvents();
            containers.listen(stats);
            containers.listen(events);
            pods.recover();
            containers.recover();
            var shimReports = new java.util.concurrent.atomic.AtomicReference<ShimReports>();
            var nodeMetrics = new NodeMetrics(pods, containers, stats,
                    () -> shimReports.get() == null ? 0 : shimReports.get().connected(), events::subscribers);
            containers.listen(nodeMetrics);
            registry.register(nodeMetrics);
            shimReports.set(ShimReports.start(config.runDirPath(), shimListener(containers, stats, nodeMetrics)));
            cleanups.push("close shim report socket", shimReports.get()::close);

            var conditions = new NodeConditions();
            conditions.set(Condition.ready(NodeConditions.RUNTIME_READY));
            conditions.track(NodeConditions.NETWORK_READY, () -> {
                var r = network.readiness();
                return r.ready() ? Condition.ready(NodeConditions.NETWORK_READY)
                        : Condition.notReady(NodeConditions.NETWORK_READY, r.reason(), r.message());
            });

            String configJson = configJson(config);
            var streamTargets = new ShimStreamTargets(containers, pods);
            var s = config.streaming();
            StreamingServer streaming = StreamingServer.start(s.address(), s.port(), new TokenStore(
                    java.time.Clock.systemUTC(), java.time.Duration.ofSeconds(s.tokenTtlSeconds()),
                    TokenStore.DEFAULT_MAX_IN_FLIGHT), streamTargets);
            cleanups.push("stop streaming server", streaming::close);

            var runtime = new CriRuntimeService(new Version(), new Status(conditions, () -> configJson),
                    new RuntimeConfig(driver), pods, containers, streaming, streamTargets,
                    Observability.of(pods, containers, stats, events));
            // The HTTP listener before the CRI socket: the socket is the last thing to appear, so
            // a client that reaches it never sees it go again because a later step (say, a
            // metrics port already taken) failed the start. /healthz says "not serving" until then.
            Vertx vertx = Vertx.vertx();
            cleanups.push("close Vert.x", () -> vertx.close().toCompletionStage().toCompletableFuture()
                    .get(10, TimeUnit.SECONDS));
            var criServer = new AtomicReference<CriServer>();
            HttpEndpoints http = HttpEndpoints.start(vertx, config.http(), registry, () -> {
                CriServer c = criServer.get();
                return c != null && c.serving();
            });
            cleanups.push("stop HTTP listener", http::close);

            CriServer cri = CriServer.start(config.socketPath(), new CriBoundary(new CriMetrics(registry)),
                    List.of(runtime, new CriImageService(images, new ContainerFilesystems(containers))));
            cleanups.push("stop CRI server", () -> cri.stop(config.shutdownGraceSeconds()));
            criServer.set(cri);

            JitPriority.lower();
            // At nice 19, on CPU the node leaves over: a pull that comes first just warms up itself.
            String address = config.http().address();
            String ownHttp = (address.equals("0.0.0.0") || address.equals("::") ? "127.0.0.1"
                    : address.contains(":") ? "[" + address + "]" : address) + ":" + http.port();
            Thread warmUp = Thread.ofPlatform().name("registry-warm-up").daemon(true).start(() -> {
                Processes.setNiceOfThread(Syscalls.gettid(), JitPriority.NICE);
                images.warmUp(ownHttp);
            });
            LOG.info("berth agent ready", "version", RuntimeInfo.version(), "socket", config.socket(),
                    "cgroup_driver", driver.name().toLowerCase(java.util.Locale.ROOT),
                    "startup_ms", (System.nanoTime() - started) / 1_000_000);
            return new Agent(config, cleanups, cri, http, warmUp);
        } catch (IOException | RuntimeException e) {
            try {
                cleanups.close();
            } catch (RuntimeException undo) {
                e.addSuppressed(undo);
            }
            throw e;
        }
    }

    /** Waits up to {@code timeout} for the pull path's warm-up after start; false if it still runs. */
    public boolean awaitWarmUp(java.time.Duration timeout) throws InterruptedException {
        return warmUp.join(timeout);
    }

    public int httpPort() {
        return http.port();
    }

    public boolean serving() {
        return cri.serving();
    }

    /** Graceful stop: no new calls, in-flight ones finish (within the grace period), socket removed. */
    public void stop() {
        LOG.info("berth agent stopping", "grace_s", config.shutdownGraceSeconds());
        cleanups.close();
        LOG.info("berth agent stopped");
    }

    /** What the agent does with the shims' reports: keep samples, look again on an exit or a lost shim. */
    static ShimReports.Listener shimListener(ContainerManager containers, StatsService stats, NodeMetrics metrics) {
        return new ShimReports.Listener() {
            @Override
            public void connected(String id) {
                metrics.shimConnected();
            }

            @Override
            public void sample(String id, io.berth.agent.stats.Sample sample) {
                stats.record(id, sample);
            }

            @Override
            public void stateChanged(String id) {
                containers.find(id); // refreshes the record from exit.pb: the STOPPED event fires here
            }

            @Override
            public void disconnected(String id) {
                // Done (exited), or gone without a word (killed: ShimLost). Unknown to us: forget it.
                if (containers.find(id).isEmpty()) {
                    stats.forget(id);
                }
            }
        };
    }

    static NetworkConfig networkConfig(AgentConfig config) {
        var n = config.network();
        return NetworkConfig.defaults(config.stateDirPath().resolve("network"))
                .withBridge(n.bridge())
                .withPodCidrs(n.podCidrs())
                .withMtu(n.mtu())
                .withFirewallTable(n.firewallTable())
                .withCni(Path.of(n.cniConfDir()), n.cniBinDirs().stream().map(Path::of).toList());
    }

    static String configJson(AgentConfig config) {
        try {
            return new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .writeValueAsString(config);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
