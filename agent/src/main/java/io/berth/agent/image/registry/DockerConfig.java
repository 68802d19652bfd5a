package io.berth.agent.image.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.agent.log.Log;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Credentials from a docker-style {@code config.json} ({@code auths} entries with {@code auth},
 * {@code username}/{@code password}, {@code identitytoken}, {@code registrytoken}), read when a
 * pull brings no CRI AuthConfig. The file is re-read when it changes, so an operator's
 * {@code docker login} takes effect without a restart. Credential helpers ({@code credsStore},
 * {@code credHelpers}) run programs and are not supported; they are reported once in the log.
 */
public final class DockerConfig {
    private static final Log LOG = Log.get(DockerConfig.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private long loadedModified = -1;
    private Map<String, Credentials> auths = Map.of();

    public DockerConfig(Path file) {
        this.file = file;
    }

    /** Credentials for a registry host (host[:port]); {@link Credentials#ANONYMOUS} if none. */
    public synchronized Credentials lookup(String host) {
        if (file == null) {
            return Credentials.ANONYMOUS;
        }
        reloadIfChanged();
        Credentials c = auths.get(host);
        if (c == null && (host.equals("docker.io") || host.equals("registry-1.docker.io")
                || host.equals("index.docker.io"))) {
            // Docker Hub's key in config.json is the legacy v1 index URL.
            c = auths.getOrDefault("index.docker.io", auths.get("docker.io"));
        }
        return c == null ? Credentials.ANONYMOUS : c;
    }

    private void reloadIfChanged() {
        try {
            long modified = Files.getLastModifiedTime(file).toMillis();
            if (modified == loadedModified) {
                return;
            }
            JsonNode root = JSON.readTree(file.toFile());
            var map = new LinkedHashMap<String, Credentials>();
            root.path("auths").properties().forEach(e -> {
                JsonNode a = e.getValue();
                map.put(hostOf(e.getKey()), Credentials.of(a.path("username").asText(""),
                        a.path("password").asText(""), a.path("auth").asText(""),
                        a.path("identitytoken").asText(""), a.path("registrytoken").asText("")));
            });
            if (root.has("credsStore") || root.has("credHelpers")) {
                LOG.warn("docker config uses credential helpers, which berth does not run; only 'auths' is used",
                        "file", file);
            }
            auths = map;
            loadedModified = modified;
        } catch (NoSuchFileException e) {
            auths = Map.of();
            loadedModified = -1;
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot read docker config; pulling without its credentials", "file", file,
                    "error", e.toString());
            auths = Map.of();
        }
    }

    /** "https://index.docker.io/v1/" → "index.docker.io"; "host:5000" stays. */
    static String hostOf(String key) {
        if (key.contains("://")) {
            URI u = URI.create(key);
            return u.getPort() < 0 ? u.getHost() : u.getHost() + ":" + u.getPort();
        }
        int slash = key.indexOf('/');
        return slash < 0 ? key : key.substring(0, slash);
    }
}
