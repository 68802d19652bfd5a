package io.berth.agent.config;

import java.nio.file.Path;

/**
 * The agent's effective configuration: defaults, overlaid by the config file, overlaid by flags.
 * Keys in the TOML file are the snake_case names of these components; README.md documents each.
 *
 * @param socket                 CRI gRPC unix socket (kubelet's --container-runtime-endpoint)
 * @param stateDir               durable state: images, pod and container records
 * @param runDir                 runtime files that do not survive a reboot: sockets, pins, mounts
 * @param logLevel               trace, debug, info, warn or error
 * @param cgroupDriver           auto (systemd when systemd is pid 1, else cgroupfs), cgroupfs, systemd
 * @param shutdownGraceSeconds   how long in-flight CRI calls may take to finish on SIGTERM
 * @param http                   the HTTP listener for /healthz and /metrics
 * @param images                 image pulls: download concurrency, registry hosts, credentials
 * @param network                pod networking: the built-in bridge network, or CNI plugins when configured
 * @param shimDir                the shim's distribution: its jars, libjnidispatch and AOT cache
 * @param pauseBinary            berth-pause, pid 1 of pods that share a PID namespace
 * @param shimPool               idle shims kept started ahead, so a container does not wait for a JVM to start
 * @param streaming              the streaming server for Exec, Attach and PortForward
 * @param statsIntervalSeconds   how often each shim pushes its container's stats sample (kubelet's
 *                               housekeeping runs every 10 s)
 * @param cgroupFavorDynmods     keep the kernel's cgroup rwsem in favordynmods mode (cgroup v1: a named
 *                               hierarchy of the agent's), so moving a task into a cgroup does not wait
 *                               for an RCU grace period; see {@code host.CgroupDynmods}
 * @param procMount              how shims mount /proc for a PID namespace: {@code auto} (procfs's pidns
 *                               parameter on Linux 6.18+, else a helper process in the namespace) or
 *                               {@code helper} (always the helper, as on kernels before 6.18)
 * @param shimMemorySharing      shims keep the memory they have alike once (KSM): each runs without
 *                               address randomisation and marks its memory mergeable, and the agent
 *                               starts KSM if it is stopped; see {@code host.SamepageMerging}
 */
public record AgentConfig(
        String socket,
        String stateDir,
        String runDir,
        String logLevel,
        String cgroupDriver,
        int shutdownGraceSeconds,
        Http http,
        Images images,
        Network network,
        String shimDir,
        String pauseBinary,
        int shimPool,
        Streaming streaming,
        int statsIntervalSeconds,
        boolean cgroupFavorDynmods,
        String procMount,
        boolean shimMemorySharing) {

    public static final Path DEFAULT_FILE = Path.of("/etc/berth/config.toml");

    /** @param address the address to bind (127.0.0.1 keeps metrics off the network); port 0 picks a free port */
    public record Http(String address, int port) {
    }

    /**
     * The {@code [streaming]} table: the HTTP listener whose single-use URLs Exec, Attach and
     * PortForward return (kubelet's streaming server).
     *
     * @param address         the address to bind, also the host of the URLs (kubelet connects to it)
     * @param port            its port; 0 picks a free one
     * @param tokenTtlSeconds how long an unused URL stays valid (kubelet's default: 60 s)
     */
    public record Streaming(String address, int port, int tokenTtlSeconds) {
    }

    /**
     * The {@code [network]} table.
     *
     * @param bridge        the built-in network's bridge (at most 15 characters)
     * @param podCidrs      the built-in network's pod CIDRs (one IPv4 and/or one IPv6); empty until
     *                      kubelet sends pod_cidr through UpdateRuntimeConfig
     * @param mtu           MTU of the bridge and the pods' interfaces; 0 for the kernel's default
     * @param firewallTable the nftables table ({@code inet NAME}) holding berth's NAT and host-port rules
     * @param cniConfDir    where CNI network configs are looked for; one there replaces the built-in network
     * @param cniBinDirs    where CNI plugins are looked for, in order
     */
    public record Network(String bridge, java.util.List<String> podCidrs, int mtu, String firewallTable,
            String cniConfDir, java.util.List<String> cniBinDirs) {
        public Network {
            podCidrs = podCidrs == null ? java.util.List.of() : java.util.List.copyOf(podCidrs);
            cniBinDirs = cniBinDirs == null ? java.util.List.of() : java.util.List.copyOf(cniBinDirs);
        }
    }

    /**
     * The {@code [images]} table.
     *
     * @param maxConcurrentDownloads layer downloads running at once, across all pulls
     * @param registryConfigDir      containerd-style certs.d directory ({@code HOST/hosts.toml}, {@code HOST/*.crt})
     * @param dockerConfig           a docker {@code config.json} whose {@code auths} are used when a pull
     *                               brings no credentials; empty for none
     * @param maxManifestBytes       the largest manifest or index accepted
     * @param registries             per-registry settings, keyed by host[:port] ({@code [images.registries."HOST"]})
     * @param downloadTimeoutSeconds how long a registry request waits for its response, and a layer
     *                               download for its next bytes, before the pull fails
     */
    public record Images(int maxConcurrentDownloads, String registryConfigDir, String dockerConfig,
            int maxManifestBytes, java.util.Map<String, Registry> registries, int downloadTimeoutSeconds) {
        public Images {
            registries = registries == null ? java.util.Map.of() : java.util.Map.copyOf(registries);
        }
    }

    /**
     * One registry's settings.
     *
     * @param mirrors  endpoints tried in order before the registry itself ("https://host[:port][/path]";
     *                 "http://" for a plain-HTTP mirror)
     * @param insecure talk to the registry over plain HTTP
     * @param caFile   PEM file of extra CA certificates to trust for this host
     */
    public record Registry(java.util.List<String> mirrors, boolean insecure, String caFile) {
        public Registry {
            mirrors = mirrors == null ? java.util.List.of() : java.util.List.copyOf(mirrors);
            caFile = caFile == null ? "" : caFile;
        }
    }

    public static AgentConfig defaults() {
        return new AgentConfig(
                "/run/berth/berth.sock",
                "/var/lib/berth",
                "/run/berth",
                "info",
                "auto",
                10,
                new Http("127.0.0.1", 9478),
                new Images(3, "/etc/berth/certs.d", "", 4 << 20, java.util.Map.of(), 60),
                new Network("berth0", java.util.List.of("10.88.0.0/16"), 0, "berth", "/etc/cni/net.d",
                        java.util.List.of("/opt/cni/bin", "/usr/lib/cni")),
                defaultShimDir(),
                defaultPauseBinary(),
                1,
                new Streaming("127.0.0.1", 0, 60),
                10,
                true,
                "auto",
                true);
    }

    /** {@code BERTH_HOME/agent/target/pause/berth-pause} in a source build, else the packaged one. */
    static String defaultPauseBinary() {
        String home = System.getProperty("berth.home");
        return home != null ? Path.of(home, "agent", "target", "pause", "berth-pause").toString() : "/usr/lib/berth/berth-pause";
    }

    /**
     * The shim's distribution beside the agent's: {@code BERTH_HOME/runtime-shim/target/shim-lib} in a
     * source build (bin/berth sets {@code berth.home}), else the packaged {@code /usr/lib/berth/shim}.
     */
    static String defaultShimDir() {
        String home = System.getProperty("berth.home");
        return home != null ? Path.of(home, "runtime-shim", "target", "shim-lib").toString() : "/usr/lib/berth/shim";
    }

    public Path socketPath() {
        return Path.of(socket);
    }

    public Path stateDirPath() {
        return Path.of(stateDir);
    }

    public java.time.Duration statsInterval() {
        return java.time.Duration.ofSeconds(statsIntervalSeconds);
    }

    public Path runDirPath() {
        return Path.of(runDir);
    }
}
