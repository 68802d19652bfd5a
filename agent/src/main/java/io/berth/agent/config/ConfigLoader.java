package io.berth.agent.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.berth.agent.log.Logging;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the effective {@link AgentConfig}: defaults, then the TOML file, then command-line flags.
 * The file is {@code --config FILE}, else {@link AgentConfig#DEFAULT_FILE} when it exists; no file
 * at all is fine. Unknown keys and bad values are refused with the key named, never ignored.
 */
public final class ConfigLoader {

    /** Command-line flags that override a key; the value is the dotted key in the file. */
    static final Map<String, String> FLAGS = Map.of(
            "--socket", "socket",
            "--state-dir", "state_dir",
            "--run-dir", "run_dir",
            "--log-level", "log_level",
            "--cgroup-driver", "cgroup_driver",
            "--http-address", "http.address",
            "--http-port", "http.port",
            "--streaming-address", "streaming.address",
            "--streaming-port", "streaming.port");

    private static final Set<String> CGROUP_DRIVERS = Set.of("auto", "cgroupfs", "systemd");
    private static final Set<String> PROC_MOUNTS = Set.of("auto", "helper");

    private static final ObjectMapper TOML = TomlMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    private ConfigLoader() {
    }

    /** The parsed command line: the flags given, and the words that are not flags. */
    public record CommandLine(Path configFile, Map<String, String> overrides, List<String> arguments) {
    }

    public static CommandLine parse(List<String> args) {
        Path config = null;
        var overrides = new LinkedHashMap<String, String>();
        var rest = new ArrayList<String>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--")) {
                rest.add(arg);
                continue;
            }
            String name = arg;
            String value;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.size()) {
                value = args.get(++i);
            } else {
                throw new ConfigException("flag " + arg + " needs a value");
            }
            if (name.equals("--config")) {
                config = Path.of(value);
            } else if (FLAGS.containsKey(name)) {
                overrides.put(FLAGS.get(name), value);
            } else {
                throw new ConfigException("unknown flag " + name + " (known: --config, "
                        + String.join(", ", FLAGS.keySet().stream().sorted().toList()) + ")");
            }
        }
        return new CommandLine(config, overrides, rest);
    }

    public static AgentConfig load(CommandLine cli) {
        ObjectNode tree = TOML.valueToTree(AgentConfig.defaults());
        Path file = cli.configFile() != null ? cli.configFile() : AgentConfig.DEFAULT_FILE;
        String source = "defaults";
        try {
            String text = Files.readString(file);
            source = file.toString();
            merge(tree, TOML.readTree(text), file.toString());
        } catch (NoSuchFileException e) {
            if (cli.configFile() != null) {
                throw new ConfigException("config file " + file + " does not exist");
            }
        } catch (JacksonException e) {
            throw new ConfigException("config file " + file + " is not valid TOML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e, e);
        }
        cli.overrides().forEach((key, value) -> set(tree, key, value));
        defaultRegistryEntries(tree);
        if (!cli.overrides().isEmpty()) {
            source = source.equals("defaults") ? "flags" : source + " or flags";
        }
        AgentConfig config;
        try {
            config = TOML.treeToValue(tree, AgentConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException("unknown key '" + path(e) + "' in " + source
                    + " (README.md lists the keys)");
        } catch (JacksonException e) {
            throw new ConfigException("bad value for '" + path(e) + "' in " + source + ": "
                    + e.getOriginalMessage());
        }
        validate(config);
        return config;
    }

    /** The effective configuration as TOML, as {@code berth config} prints it. */
    public static String toToml(AgentConfig config) {
        try {
            return TOML.writeValueAsString(config);
        } catch (JacksonException e) {
            throw new IllegalStateException(e);
        }
    }

    static void validate(AgentConfig c) {
        requireAbsolute("socket", c.socket());
        requireAbsolute("state_dir", c.stateDir());
        requireAbsolute("run_dir", c.runDir());
        try {
            Logging.parseLevel(c.logLevel());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("log_level: " + e.getMessage());
        }
        if (!CGROUP_DRIVERS.contains(c.cgroupDriver())) {
            throw new ConfigException("cgroup_driver: '" + c.cgroupDriver() + "' is not one of auto, cgroupfs, systemd");
        }
        if (c.shutdownGraceSeconds() < 0) {
            throw new ConfigException("shutdown_grace_seconds: must not be negative, got " + c.shutdownGraceSeconds());
        }
        if (c.http() == null || c.http().address() == null || c.http().address().isBlank()) {
            throw new ConfigException("http.address: must not be empty");
        }
        if (c.http().port() < 0 || c.http().port() > 65535) {
            throw new ConfigException("http.port: " + c.http().port() + " is not a TCP port (0 picks a free one)");
        }
        validateStreaming(c.streaming());
        validateImages(c.images());
        validateNetwork(c.network());
        requireAbsolute("shim_dir", c.shimDir());
        requireAbsolute("pause_binary", c.pauseBinary());
        if (c.shimPool() < 0 || c.shimPool() > 16) {
            throw new ConfigException("shim_pool: must be 0 to 16 idle shims, got " + c.shimPool());
        }
        if (c.statsIntervalSeconds() < 1 || c.statsIntervalSeconds() > 300) {
            throw new ConfigException("stats_interval_seconds: must be 1 to 300, got " + c.statsIntervalSeconds());
        }
        if (!PROC_MOUNTS.contains(c.procMount())) {
            throw new ConfigException("proc_mount: '" + c.procMount() + "' is not one of auto, helper");
        }
    }

    private static void validateStreaming(AgentConfig.Streaming s) {
        if (s == null || s.address() == null || s.address().isBlank()) {
            throw new ConfigException("streaming.address: must not be empty");
        }
        if (s.port() < 0 || s.port() > 65535) {
            throw new ConfigException("streaming.port: " + s.port() + " is not a TCP port (0 picks a free one)");
        }
        if (s.tokenTtlSeconds() < 1 || s.tokenTtlSeconds() > 3600) {
            throw new ConfigException("streaming.token_ttl_seconds: must be 1 to 3600, got " + s.tokenTtlSeconds());
        }
    }

    private static void validateNetwork(AgentConfig.Network n) {
        if (n == null) {
            throw new ConfigException("network: missing");
        }
        if (n.bridge() == null || n.bridge().isEmpty() || n.bridge().length() > 15 || !n.bridge().matches("[A-Za-z0-9_.-]+")) {
            throw new ConfigException("network.bridge: '" + n.bridge() + "' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)");
        }
        if (n.podCidrs().size() > 2) {
            throw new ConfigException("network.pod_cidrs: at most two (one IPv4, one IPv6), got " + n.podCidrs());
        }
        for (String cidr : n.podCidrs()) {
            if (!cidr.matches("[0-9a-fA-F.:]+/\\d{1,3}")) {
                throw new ConfigException("network.pod_cidrs: '" + cidr + "' is not a CIDR like 10.88.0.0/16");
            }
        }
        if (n.mtu() != 0 && (n.mtu() < 576 || n.mtu() > 65535)) {
            throw new ConfigException("network.mtu: " + n.mtu() + " is outside 576-65535 (0 for the default)");
        }
        if (n.firewallTable() == null || !n.firewallTable().matches("[A-Za-z][A-Za-z0-9_-]{0,20}")) {
            throw new ConfigException("network.firewall_table: '" + n.firewallTable() + "' must match [A-Za-z][A-Za-z0-9_-]{0,20}");
        }
        requireAbsolute("network.cni_conf_dir", n.cniConfDir());
        n.cniBinDirs().forEach(d -> requireAbsolute("network.cni_bin_dirs", d));
    }

    private static void validateImages(AgentConfig.Images images) {
        if (images == null) {
            throw new ConfigException("images: missing");
        }
        if (images.maxConcurrentDownloads() < 1 || images.maxConcurrentDownloads() > 64) {
            throw new ConfigException("images.max_concurrent_downloads: must be 1 to 64, got "
                    + images.maxConcurrentDownloads());
        }
        if (images.downloadTimeoutSeconds() < 1 || images.downloadTimeoutSeconds() > 3600) {
            throw new ConfigException("images.download_timeout_seconds: must be 1 to 3600, got "
                    + images.downloadTimeoutSeconds());
        }
        if (images.maxManifestBytes() < 1024) {
            throw new ConfigException("images.max_manifest_bytes: must be at least 1024, got "
                    + images.maxManifestBytes());
        }
        if (!images.registryConfigDir().isEmpty()) {
            requireAbsolute("images.registry_config_dir", images.registryConfigDir());
        }
        if (!images.dockerConfig().isEmpty()) {
            requireAbsolute("images.docker_config", images.dockerConfig());
        }
        images.registries().forEach((host, r) -> {
            String key = "images.registries.\"" + host + "\"";
            if (host.isBlank() || host.contains("/") || host.contains("://")) {
                throw new ConfigException(key + ": the key must be a registry host[:port], without scheme or path");
            }
            if (r == null) {
                throw new ConfigException(key + ": must be a table");
            }
            for (String m : r.mirrors()) {
                try {
                    var u = java.net.URI.create(m.contains("://") ? m : "https://" + m);
                    if (u.getHost() == null || !(u.getScheme().equals("https") || u.getScheme().equals("http"))) {
                        throw new IllegalArgumentException("needs an http(s) URL with a host");
                    }
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(key + ".mirrors: '" + m + "' is not a mirror URL: " + e.getMessage());
                }
            }
            if (!r.caFile().isEmpty()) {
                requireAbsolute(key + ".ca_file", r.caFile());
            }
        });
    }

    private static void requireAbsolute(String key, String value) {
        if (value == null || value.isBlank() || !Path.of(value).isAbsolute()) {
            throw new ConfigException(key + ": must be an absolute path, got '" + value + "'");
        }
    }

    private static void merge(ObjectNode into, JsonNode from, String source) {
        from.properties().forEach(entry -> {
            JsonNode existing = into.get(entry.getKey());
            if (existing instanceof ObjectNode table && entry.getValue().isObject()) {
                merge(table, entry.getValue(), source);
            } else {
                into.set(entry.getKey(), entry.getValue());
            }
        });
    }

    /**
     * Each {@code [images.registries."HOST"]} table starts from a default entry, so a key it leaves
     * out (a table with only {@code ca_file}) takes its default instead of being null; the defaults
     * tree itself has no hosts to carry them.
     */
    private static void defaultRegistryEntries(ObjectNode tree) {
        if (!(tree.path("images").path("registries") instanceof ObjectNode registries)) {
            return;
        }
        var hosts = new ArrayList<String>();
        registries.fieldNames().forEachRemaining(hosts::add);
        for (String host : hosts) {
            JsonNode given = registries.get(host);
            if (given.isObject()) {
                ObjectNode withDefaults = TOML.valueToTree(new AgentConfig.Registry(List.of(), false, ""));
                merge(withDefaults, given, "");
                registries.set(host, withDefaults);
            }
        }
    }

    private static void set(ObjectNode tree, String dottedKey, String value) {
        String[] parts = dottedKey.split("\\.");
        ObjectNode node = tree;
        for (int i = 0; i < parts.length - 1; i++) {
            node = node.with(parts[i]);
        }
        node.put(parts[parts.length - 1], value);
    }

    /** The dotted key a mapping error is about, e.g. {@code http.port}. */
    private static String path(JacksonException e) {
        if (!(e instanceof JsonMappingException mapping)) {
            return "?";
        }
        var names = mapping.getPath().stream()
                .map(JsonMappingException.Reference::getFieldName)
                .filter(name -> name != null)
                .toList();
        return names.isEmpty() ? "?" : String.join(".", names);
    }
}
