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
 */
public record AgentConfig(
        String socket,
        String stateDir,
        String runDir,
        String logLevel,
        String cgroupDriver,
        int shutdownGraceSeconds,
        Http http,
        Images images) {

    public static final Path DEFAULT_FILE = Path.of("/etc/berth/config.toml");

    /** @param address the address to bind (127.0.0.1 keeps metrics off the network); port 0 picks a free port */
    public record Http(String address, int port) {
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
     */
    public record Images(int maxConcurrentDownloads, String registryConfigDir, String dockerConfig,
            int maxManifestBytes, java.util.Map<String, Registry> registries) {
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
                new Images(3, "/etc/berth/certs.d", "", 4 << 20, java.util.Map.of()));
    }

    public Path socketPath() {
        return Path.of(socket);
    }

    public Path stateDirPath() {
        return Path.of(stateDir);
    }

    public Path runDirPath() {
        return Path.of(runDir);
    }
}
