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
 */
public record AgentConfig(
        String socket,
        String stateDir,
        String runDir,
        String logLevel,
        String cgroupDriver,
        int shutdownGraceSeconds,
        Http http) {

    public static final Path DEFAULT_FILE = Path.of("/etc/berth/config.toml");

    /** @param address the address to bind (127.0.0.1 keeps metrics off the network); port 0 picks a free port */
    public record Http(String address, int port) {
    }

    public static AgentConfig defaults() {
        return new AgentConfig(
                "/run/berth/berth.sock",
                "/var/lib/berth",
                "/run/berth",
                "info",
                "auto",
                10,
                new Http("127.0.0.1", 9478));
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
