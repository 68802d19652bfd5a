package io.berth.agent.image.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.berth.agent.domain.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Where to fetch a registry's content from, and how: the ordered endpoints for a registry host
 * (mirrors first, then the registry itself), each with its scheme, API path and TLS trust.
 *
 * <p>Two sources, the first that has an entry for the host wins:
 * <ol>
 *   <li>berth's own config, {@code [images.registries."HOST"]} with {@code mirrors}, {@code insecure}
 *       and {@code ca_file};</li>
 *   <li>a containerd-style directory ({@code registry_config_dir}, default /etc/berth/certs.d):
 *       {@code HOST/hosts.toml} with {@code server} and {@code [host."URL"]} tables
 *       ({@code capabilities}, {@code ca}, {@code skip_verify}, {@code override_path}, {@code header}),
 *       or, without hosts.toml, the {@code *.crt} files of {@code HOST/} as extra CAs; then
 *       {@code _default/hosts.toml}. containerd docs/hosts.md describes the format.</li>
 * </ol>
 * Docker Hub ({@code docker.io}) is served from registry-1.docker.io. A loopback registry with no
 * configuration is tried over HTTPS and then plain HTTP, as docker and containerd do for localhost.
 */
public final class RegistryHosts {
    /** One registry's settings from berth's config. */
    public record Settings(List<String> mirrors, boolean insecure, String caFile) {
        public Settings {
            mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
            caFile = caFile == null ? "" : caFile;
        }
    }

    /**
     * One place to send registry API requests to.
     *
     * @param host         the host[:port] the endpoint is on (credentials are looked up by it)
     * @param base         scheme://host[:port]
     * @param apiPath      the API root, "/v2" unless {@code override_path} says otherwise
     * @param mirror       true for a mirror, false for the registry itself
     * @param resolve      may resolve tags to digests (hosts.toml capability "resolve")
     * @param httpFallback a loopback host without configuration: plain HTTP if TLS fails
     * @param headers      extra request headers from hosts.toml
     */
    public record Endpoint(String host, URI base, String apiPath, boolean mirror, boolean resolve,
            boolean httpFallback, Map<String, String> headers, Http1Client client) {
        public URI uri(String pathAndQuery) {
            return base.resolve(apiPath + pathAndQuery);
        }

        public Endpoint asPlainHttp() {
            return new Endpoint(host, URI.create("http://" + host), apiPath, mirror, resolve, false, headers, client);
        }

        @Override
        public String toString() {
            return base + apiPath + (mirror ? " (mirror)" : "");
        }
    }

    private static final TomlMapper TOML = new TomlMapper();
    private static final Pattern ADDRESS_LITERAL = Pattern.compile("[0-9.]+|[0-9a-fA-F:]+");

    private final Map<String, Settings> settings;
    private final Path certsDir;
    private final Map<String, Http1Client> clients = new ConcurrentHashMap<>();

    public RegistryHosts(Map<String, Settings> settings, Path certsDir) {
        this.settings = Map.copyOf(settings);
        this.certsDir = certsDir;
    }

    /** The endpoints to try for {@code registry}, in order. */
    public List<Endpoint> endpoints(String registry) {
        Settings s = settings.get(registry);
        if (s != null) {
            return fromSettings(registry, s);
        }
        if (certsDir != null) {
            Path hostDir = certsDir.resolve(hostDirName(registry));
            if (Files.isRegularFile(hostDir.resolve("hosts.toml"))) {
                return fromHostsToml(registry, hostDir.resolve("hosts.toml"));
            }
            List<Path> crts = crtFiles(hostDir);
            if (!crts.isEmpty()) {
                return List.of(endpoint(registry, upstreamUri(registry, false), "/v2", false, true, false,
                        Map.of(), crts, false));
            }
            Path fallback = certsDir.resolve("_default/hosts.toml");
            if (Files.isRegularFile(fallback)) {
                return fromHostsToml(registry, fallback);
            }
        }
        return List.of(endpoint(registry, upstreamUri(registry, false), "/v2", false, true, isLoopback(registry),
                Map.of(), List.of(), false));
    }

    private List<Endpoint> fromSettings(String registry, Settings s) {
        var out = new ArrayList<Endpoint>();
        for (String m : s.mirrors()) {
            URI u = withScheme(m, "https");
            String host = hostOf(u);
            Settings ms = settings.get(host);
            List<Path> cas = ms == null || ms.caFile().isEmpty() ? List.of() : List.of(Path.of(ms.caFile()));
            String path = apiPath(u.getPath(), false);
            out.add(endpoint(host, URI.create(u.getScheme() + "://" + host), path, true, true, false, Map.of(), cas,
                    false));
        }
        List<Path> cas = s.caFile().isEmpty() ? List.of() : List.of(Path.of(s.caFile()));
        out.add(endpoint(registry, upstreamUri(registry, s.insecure()), "/v2", false, true, false, Map.of(), cas,
                false));
        return out;
    }

    private List<Endpoint> fromHostsToml(String registry, Path file) {
        JsonNode root;
        try {
            root = TOML.readTree(file.toFile());
        } catch (IOException e) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION,
                    "registry config " + file + " is not valid TOML: " + e.getMessage(), e);
        }
        var out = new ArrayList<Endpoint>();
        root.path("host").properties().forEach(e -> out.add(hostEntry(registry, e.getKey(), e.getValue(), true)));
        URI server = root.hasNonNull("server") ? withScheme(root.get("server").asText(), "https")
                : upstreamUri(registry, false);
        out.add(hostEntry(registry, server.toString(), root, false));
        return out;
    }

    private Endpoint hostEntry(String registry, String url, JsonNode t, boolean mirror) {
        URI u = withScheme(url, "https");
        String host = hostOf(u);
        var caps = new java.util.HashSet<String>();
        if (t.has("capabilities")) {
            t.get("capabilities").forEach(c -> caps.add(c.asText()));
        } else {
            caps.addAll(Set.of("pull", "resolve"));
        }
        var cas = new ArrayList<Path>();
        JsonNode ca = t.path("ca");
        if (ca.isTextual()) {
            cas.add(Path.of(ca.asText()));
        } else if (ca.isArray()) {
            ca.forEach(c -> cas.add(Path.of(c.asText())));
        }
        var headers = new java.util.LinkedHashMap<String, String>();
        t.path("header").properties().forEach(h -> headers.put(h.getKey(),
                h.getValue().isArray() ? h.getValue().get(0).asText() : h.getValue().asText()));
        String path = apiPath(u.getPath(), t.path("override_path").asBoolean(false));
        String reg = mirror ? host : (registry.equals("docker.io") && host.equals("registry-1.docker.io") ? registry
                : host);
        return new Endpoint(reg, URI.create(u.getScheme() + "://" + host), path, mirror,
                caps.contains("resolve"), false, Map.copyOf(headers),
                client(cas, t.path("skip_verify").asBoolean(false)));
    }

    private Endpoint endpoint(String host, URI base, String apiPath, boolean mirror, boolean resolve,
            boolean httpFallback, Map<String, String> headers, List<Path> cas, boolean skipVerify) {
        return new Endpoint(host, base, apiPath, mirror, resolve, httpFallback, headers, client(cas, skipVerify));
    }

    /** containerd's rule: a path given with override_path is the API root; otherwise "/v2" is appended. */
    static String apiPath(String path, boolean override) {
        String p = path == null ? "" : path.replaceAll("/+$", "");
        if (override) {
            return p;
        }
        return p.isEmpty() ? "/v2" : p.endsWith("/v2") ? p : p + "/v2";
    }

    static URI upstreamUri(String registry, boolean insecure) {
        String host = registry.equals("docker.io") ? "registry-1.docker.io" : registry;
        return URI.create((insecure ? "http://" : "https://") + host);
    }

    private static URI withScheme(String s, String scheme) {
        return URI.create(s.contains("://") ? s : scheme + "://" + s);
    }

    private static String hostOf(URI u) {
        return u.getPort() < 0 ? u.getHost() : u.getHost() + ":" + u.getPort();
    }

    /** containerd's certs.d naming: "host:port" as is; Docker Hub under "docker.io". */
    private static String hostDirName(String registry) {
        return registry;
    }

    private static List<Path> crtFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".crt")).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    static boolean isLoopback(String hostPort) {
        String host = hostPort;
        if (host.startsWith("[")) {
            host = host.substring(1, host.indexOf(']'));
        } else if (host.indexOf(':') >= 0) {
            host = host.substring(0, host.indexOf(':'));
        }
        if (host.equals("localhost")) {
            return true;
        }
        if (!ADDRESS_LITERAL.matcher(host).matches()) {
            return false; // never resolve names here: only literal loopback addresses count
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** An HTTP client per trust configuration, shared by every pull that uses it. */
    private Http1Client client(List<Path> cas, boolean skipVerify) {
        String key = cas + "|" + skipVerify;
        // HTTP/1.1: concurrent layer downloads use separate connections, which is what registries
        // and their CDNs expect. Redirects are followed by the registry client, by hand.
        return clients.computeIfAbsent(key, k -> new Http1Client(sslContext(cas, skipVerify), Duration.ofSeconds(10)));
    }

    static SSLContext sslContext(List<Path> cas, boolean skipVerify) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            if (skipVerify) {
                ctx.init(null, new TrustManager[] {new TrustAll()}, null);
                return ctx;
            }
            if (cas.isEmpty()) {
                return SSLContext.getDefault();
            }
            // The system's trust anchors plus the operator's CA files.
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            var tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init((KeyStore) null);
            int n = 0;
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    for (X509Certificate c : x.getAcceptedIssuers()) {
                        ks.setCertificateEntry("system-" + n++, c);
                    }
                }
            }
            var cf = CertificateFactory.getInstance("X.509");
            for (Path ca : cas) {
                try (InputStream in = Files.newInputStream(ca)) {
                    for (Certificate c : cf.generateCertificates(in)) {
                        ks.setCertificateEntry("ca-" + n++, c);
                    }
                } catch (IOException e) {
                    throw new BerthException(BerthException.Kind.FAILED_PRECONDITION,
                            "cannot read registry CA file " + ca + ": " + e.getMessage(), e);
                }
            }
            var custom = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            custom.init(ks);
            ctx.init(null, custom.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION,
                    "cannot set up TLS trust from " + cas + ": " + e.getMessage(), e);
        }
    }

    /**
     * hosts.toml {@code skip_verify = true}: accept any certificate and any name. An extended trust
     * manager, because the JDK performs host name checks inside it (so this skips them too).
     */
    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
