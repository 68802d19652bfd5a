package io.berth.agent.image.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.BerthException.Kind;
import io.berth.agent.image.Digest;
import io.berth.agent.image.ImageRef;
import io.berth.agent.image.registry.RegistryHosts.Endpoint;
import io.berth.agent.log.Log;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;

/**
 * A client for the OCI distribution spec (and Docker Registry HTTP API v2, which it grew from):
 * manifests and blobs by tag or digest, with anonymous, Basic and Bearer-token authentication
 * (Docker's token authentication specification: the 401's {@code WWW-Authenticate} challenge names a
 * realm, service and scope; the token it grants is cached until it expires), mirrors tried in order
 * before the registry itself, and plain HTTP where the configuration allows it.
 */
public final class RegistryClient {
    private static final Log LOG = Log.get(RegistryClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** containerd and the distribution registry refuse manifests over 4 MiB; so do we. */
    public static final int DEFAULT_MAX_MANIFEST_BYTES = 4 << 20;

    public static final String MANIFEST_ACCEPT = String.join(", ", MediaTypes.OCI_INDEX, MediaTypes.DOCKER_LIST,
            MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST);
    private static final String USER_AGENT = "berth/" + io.berth.agent.domain.RuntimeInfo.version();

    private final RegistryHosts hosts;
    private final DockerConfig dockerConfig;
    private final int maxManifestBytes;
    private final Duration timeout;
    private final Map<String, Token> tokens = new ConcurrentHashMap<>();
    /** Registries seen to answer only plain HTTP (loopback fallback), so later pulls go there directly. */
    private final Set<String> plainHttp = ConcurrentHashMap.newKeySet();
    /** The last challenge each host sent, so later requests can present a cached token at once. */
    private final Map<String, AuthChallenge> challenges = new ConcurrentHashMap<>();

    private record Token(String value, long expiresAtNanos) {
    }

    /** Read ahead of the unpacker per blob download; with the default 3 downloads, 12 MiB at most. */
    static final long BLOB_READ_AHEAD = 4 << 20;

    /**
     * @param timeout how long a request may wait for its response headers, and a blob download for
     *                its next bytes ({@code images.download_timeout_seconds})
     */
    public RegistryClient(RegistryHosts hosts, DockerConfig dockerConfig, int maxManifestBytes, Duration timeout) {
        this.hosts = hosts;
        this.dockerConfig = dockerConfig;
        this.maxManifestBytes = maxManifestBytes;
        this.timeout = timeout;
    }

    /** An OCI image manifest for {@link #warmUp}: one config, one layer. */
    private static final byte[] WARM_UP_MANIFEST = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\","
            + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":2,\"digest\":\"sha256:"
            + "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":[{\"mediaType\":"
            + "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":32,\"digest\":\"sha256:"
            + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}]}").getBytes(StandardCharsets.UTF_8);

    /**
     * Does ahead of the first pull what that pull's first exchanges would otherwise pay for
     * (measured: a fresh agent's first pull from a loopback registry took 0.9-1.8 s, against
     * ~0.1 s for the next ones; 0.4 s of it resolving the registry, 0.24 s its manifest): the
     * system trust store (SSLContext.getDefault), the HTTP/1.1 client, the client side of a TLS
     * handshake, the manifest parser. {@code hostPort} is a plain-HTTP listener of this agent's own
     * (its /healthz): a TLS attempt there fails as the HTTPS-first probe of a plain-HTTP loopback
     * registry does, then one exchange over plain HTTP goes through. Failures are ignored.
     */
    public void warmUp(String hostPort) {
        for (Endpoint ep : hosts.endpoints(hostPort)) {
            for (Endpoint e : List.of(ep, ep.asPlainHttp())) {
                var req = HttpRequest.newBuilder(e.base().resolve("/healthz")).timeout(timeout).GET().build();
                try (InputStream in = e.client().send(req, BlobBody.handler(BLOB_READ_AHEAD, timeout, "warm-up")).body()) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                } catch (IOException expected) {
                    // TLS at a plain-HTTP port: refused, as intended
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        Manifests.imageManifest(WARM_UP_MANIFEST, "the warm-up manifest");
    }

    /** A manifest or index as the registry served it, with the digest of its exact bytes. */
    public record Manifest(byte[] bytes, String mediaType, Digest digest) {
    }

    /**
     * One pull's conversation with a registry: its endpoints, the credentials the pull brought
     * ({@code criAuth} for {@code criServer}, or any host when that is empty), the headers that
     * authorised earlier requests.
     */
    public Session session(ImageRef ref, Credentials criAuth, String criServer) {
        return new Session(ref, criAuth == null ? Credentials.ANONYMOUS : criAuth,
                criServer == null ? "" : criServer);
    }

    public final class Session {
        private final ImageRef ref;
        private final Credentials criAuth;
        private final String criServer;
        private final List<Endpoint> endpoints;
        private final Set<Endpoint> dead = ConcurrentHashMap.newKeySet();
        /** The endpoint each blob was last opened from, and the endpoints that served it wrong. */
        private final Map<Digest, Endpoint> blobOrigins = new ConcurrentHashMap<>();
        private final Map<Digest, Set<Endpoint>> badBlobSources = new ConcurrentHashMap<>();
        private final Map<String, String> authorization = new ConcurrentHashMap<>();

        private Session(ImageRef ref, Credentials criAuth, String criServer) {
            this.ref = ref;
            this.criAuth = criAuth;
            this.criServer = criServer;
            var eps = new ArrayList<Endpoint>();
            for (Endpoint e : hosts.endpoints(ref.domain())) {
                eps.add(e.httpFallback() && plainHttp.contains(e.host()) ? e.asPlainHttp() : e);
            }
            this.endpoints = eps;
        }

        public ImageRef ref() {
            return ref;
        }

        /** Fetches a manifest or index by tag or digest; a digest is checked against the bytes. */
        public Manifest manifest(String reference) {
            boolean byDigest = Digest.looksLike(reference);
            return onEndpoints("manifest " + reference, !byDigest, ep -> {
                HttpResponse<InputStream> r = exchange(ep, "GET", manifestPath(reference), MANIFEST_ACCEPT);
                try (InputStream body = r.body()) {
                    check(r, ep, "manifest '" + reference + "'");
                    long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
                    if (declared > maxManifestBytes) {
                        throw tooLarge(ref, reference, declared);
                    }
                    byte[] bytes = body.readNBytes(maxManifestBytes + 1);
                    if (bytes.length > maxManifestBytes) {
                        throw tooLarge(ref, reference, -1);
                    }
                    Digest actual = Digest.sha256(bytes);
                    if (byDigest) {
                        Digest wanted = Digest.parse(reference);
                        Digest got = wanted.algorithm().equals("sha256") ? actual
                                : Digest.of(wanted.algorithm(), hash(wanted, bytes));
                        if (!got.equals(wanted)) {
                            throw new BerthException(Kind.INVALID_ARGUMENT, "manifest " + reference + " of "
                                    + ref + " from " + ep + " does not match its digest (got " + got + ")");
                        }
                        actual = got;
                    }
                    String type = r.headers().firstValue("Content-Type").orElse("")
                            .split(";")[0].trim();
                    return new Manifest(bytes, type, actual);
                }
            });
        }

        /**
         * The digest a tag points at, by a HEAD request (the {@code Docker-Content-Digest} header,
         * distribution-spec "Pulling manifests"); empty when the registry does not say.
         */
        public Optional<Digest> headDigest(String tag) {
            return onEndpoints("manifest " + tag, true, ep -> {
                HttpResponse<InputStream> r = exchange(ep, "HEAD", manifestPath(tag), MANIFEST_ACCEPT);
                try (InputStream ignored = r.body()) {
                    check(r, ep, "manifest '" + tag + "'");
                    return r.headers().firstValue("Docker-Content-Digest")
                            .filter(Digest::looksLike).map(Digest::parse);
                }
            });
        }

        /** A small blob (a config), read whole and verified against its digest and size. */
        public byte[] smallBlob(Digest digest, long size, long limit) {
            if (size > limit) {
                throw new BerthException(Kind.INVALID_ARGUMENT, "blob " + digest + " of " + ref
                        + " is " + size + " bytes, over the " + limit + "-byte limit for a config");
            }
            return onEndpoints("blob " + digest, false, ep -> {
                HttpResponse<InputStream> r = exchange(ep, "GET", "/" + ref.repository() + "/blobs/" + digest, "*/*");
                try (InputStream body = r.body()) {
                    check(r, ep, "blob " + digest);
                    byte[] bytes = body.readNBytes((int) Math.min(limit, size) + 1);
                    verify(digest, size, bytes);
                    return bytes;
                }
            });
        }

        /**
         * Opens a blob for streaming. The caller verifies digest and size as it reads (nothing it
         * writes becomes visible before that); a {@code Content-Length} that disagrees with the
         * descriptor fails here, before any byte is used. {@code hasher} (null: none) is updated with
         * every byte of the accepted response's body as it arrives, on the HTTP client's thread
         * (see {@link BlobBody#hashWith}).
         */
        public InputStream openBlob(Digest digest, long size, java.security.MessageDigest hasher) {
            Set<Endpoint> bad = badBlobSources.getOrDefault(digest, Set.of());
            return onEndpoints("blob " + digest, false, bad, ep -> {
                HttpResponse<InputStream> r = exchange(ep, "GET", "/" + ref.repository() + "/blobs/" + digest, "*/*",
                        BlobBody.handler(BLOB_READ_AHEAD, timeout, "blob " + digest + " of " + ref + " from " + ep));
                try {
                    check(r, ep, "blob " + digest);
                    long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
                    if (declared >= 0 && declared != size) {
                        throw new BerthException(Kind.INVALID_ARGUMENT, "blob " + digest + " of " + ref + " from "
                                + ep + " is " + declared + " bytes but its descriptor says " + size
                                + " (truncated or wrong content)");
                    }
                    blobOrigins.put(digest, ep);
                    if (hasher != null) {
                        ((BlobBody) r.body()).hashWith(hasher); // this response's body only
                    }
                    return r.body();
                } catch (RuntimeException e) {
                    r.body().close();
                    throw e;
                }
            });
        }

        /** The endpoint {@code digest} was last opened from, for the log. */
        public String blobOrigin(Digest digest) {
            Endpoint ep = blobOrigins.get(digest);
            return ep == null ? "" : ep.toString();
        }

        /**
         * The bytes {@link #openBlob} gave for {@code digest} did not match it. A mirror is passed
         * over for this blob from now on and true is returned (the registry itself, always last,
         * remains); when the registry itself served them, false: there is nowhere else to go.
         */
        public boolean rejectBlobOrigin(Digest digest) {
            Endpoint ep = blobOrigins.get(digest);
            if (ep == null || !ep.mirror()) {
                return false;
            }
            badBlobSources.computeIfAbsent(digest, d -> ConcurrentHashMap.newKeySet()).add(ep);
            return true;
        }

        private String manifestPath(String reference) {
            return "/" + ref.repository() + "/manifests/" + reference;
        }

        private void verify(Digest digest, long size, byte[] bytes) {
            if (bytes.length != size) {
                throw new BerthException(Kind.INVALID_ARGUMENT, "blob " + digest + " of " + ref + " is "
                        + (bytes.length > size ? "larger than" : bytes.length + " bytes, not") + " the " + size
                        + " bytes its descriptor says");
            }
            Digest got = Digest.of(digest.algorithm(), hash(digest, bytes));
            if (!got.equals(digest)) {
                throw new BerthException(Kind.INVALID_ARGUMENT, "blob " + digest + " of " + ref
                        + " does not match its digest (content hashes to " + got + ")");
            }
        }

        @FunctionalInterface
        private interface EndpointCall<T> {
            T call(Endpoint ep) throws IOException, InterruptedException;
        }

        /**
         * Tries each endpoint in order (mirrors, then the registry) until one answers. A mirror that
         * is down or lacks the content is skipped with a warning; the registry's own error is the
         * one reported when nothing works.
         */
        private <T> T onEndpoints(String what, boolean needsResolve, EndpointCall<T> call) {
            return onEndpoints(what, needsResolve, Set.of(), call);
        }

        private <T> T onEndpoints(String what, boolean needsResolve, Set<Endpoint> skip, EndpointCall<T> call) {
            BerthException last = null;
            for (int i = 0; i < endpoints.size(); i++) {
                Endpoint ep = endpoints.get(i);
                if (dead.contains(ep) || skip.contains(ep) || (needsResolve && !ep.resolve())) {
                    continue;
                }
                try {
                    return call.call(ep);
                } catch (SSLException e) {
                    CertificateException untrusted = certificateProblem(e);
                    // Only a server that answered in plain HTTP is retried without TLS (containerd's
                    // HTTPFallback does the same: a TLS record header error, never a certificate
                    // error). A registry that speaks TLS with a certificate we do not trust must fail
                    // here, saying so, not be talked to in clear text.
                    if (ep.httpFallback() && untrusted == null) {
                        LOG.info("registry does not speak TLS; using plain HTTP (loopback registry)",
                                "registry", ep.host());
                        plainHttp.add(ep.host());
                        endpoints.set(i, ep.asPlainHttp());
                        i--;
                        continue;
                    }
                    last = untrusted != null ? untrustedCertificate(what, ep, untrusted, e)
                            : new BerthException(Kind.UNAVAILABLE, what + " of " + ref + ": TLS with " + ep
                                    + " failed: " + e.getMessage(), e);
                    dead.add(ep);
                } catch (ConnectException | HttpTimeoutException e) {
                    last = new BerthException(Kind.UNAVAILABLE, what + " of " + ref + ": cannot reach " + ep
                            + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
                    dead.add(ep);
                } catch (IOException e) {
                    last = new BerthException(Kind.UNAVAILABLE, what + " of " + ref + " from " + ep + ": " + e, e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new BerthException(Kind.UNAVAILABLE, what + " of " + ref + ": interrupted", e);
                } catch (BerthException e) {
                    last = e;
                    if (!ep.mirror()) {
                        throw e;
                    }
                }
                if (ep.mirror()) {
                    LOG.warn("mirror failed; trying the next endpoint", "image", ref, "mirror", ep,
                            "error", last.getMessage());
                }
            }
            if (last == null) {
                last = new BerthException(Kind.FAILED_PRECONDITION, what + " of " + ref
                        + ": no configured endpoint may resolve tags (hosts.toml capabilities)");
            }
            throw last;
        }

        private BerthException untrustedCertificate(String what, Endpoint ep, CertificateException cause,
                SSLException e) {
            return new BerthException(Kind.UNAVAILABLE, what + " of " + ref + ": TLS with " + ep
                    + " failed: the certificate of " + ep.host() + " is not trusted (" + cause.getMessage()
                    + "); give its CA as images.registries.\"" + ep.host() + "\".ca_file or in "
                    + "images.registry_config_dir/" + ep.host() + "/ (ca.crt, or hosts.toml ca / skip_verify)", e);
        }

        /** One request, with redirects followed by hand and a single authorisation retry on 401. */
        private HttpResponse<InputStream> exchange(Endpoint ep, String method, String path, String accept)
                throws IOException, InterruptedException {
            return exchange(ep, method, path, accept, null);
        }

        /** {@code handler} null: the body is read from the connection on the caller's thread. */
        private HttpResponse<InputStream> exchange(Endpoint ep, String method, String path, String accept,
                HttpResponse.BodyHandler<InputStream> handler) throws IOException, InterruptedException {
            URI uri = ep.uri(path + (ep.mirror() ? "?ns=" + URLEncoder.encode(ref.domain(), StandardCharsets.UTF_8)
                    : ""));
            boolean authorised = false;
            preauthorise(ep);
            for (int redirects = 0; ; ) {
                boolean sameHost = uri.getHost().equals(ep.base().getHost());
                var req = HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody())
                        .header("Accept", accept).header("User-Agent", USER_AGENT)
                        .timeout(timeout);
                ep.headers().forEach(req::header);
                String auth = authorization.get(ep.host());
                // A redirect to a storage back end (S3, a CDN) carries its own signature; our
                // Authorization header would make it fail.
                if (auth != null && sameHost) {
                    req.header("Authorization", auth);
                }
                HttpResponse<InputStream> r = handler == null ? ep.client().send(req.build())
                        : ep.client().send(req.build(), handler);
                int code = r.statusCode();
                if (code == 401 && !authorised && sameHost) {
                    String body = errorText(r);
                    authorise(ep, r.headers(), body);
                    authorised = true;
                    continue;
                }
                if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) {
                    r.body().close();
                    if (++redirects > 5) {
                        throw new IOException("too many redirects from " + uri);
                    }
                    uri = uri.resolve(r.headers().firstValue("Location")
                            .orElseThrow(() -> new IOException("redirect without Location from " + ep)));
                    continue;
                }
                return r;
            }
        }

        /** Present a cached token straight away when this host challenged us before. */
        private void preauthorise(Endpoint ep) {
            if (authorization.containsKey(ep.host())) {
                return;
            }
            Credentials c = credentialsFor(ep);
            if (!c.registryToken().isEmpty()) {
                authorization.put(ep.host(), "Bearer " + c.registryToken());
                return;
            }
            AuthChallenge ch = challenges.get(ep.host());
            if (ch != null && ch.scheme().equals("bearer")) {
                Token t = tokens.get(tokenKey(ch, scope(ch), c));
                if (t != null && t.expiresAtNanos() - System.nanoTime() > 0) {
                    authorization.put(ep.host(), "Bearer " + t.value());
                }
            }
        }

        private void authorise(Endpoint ep, HttpHeaders headers, String body) throws IOException, InterruptedException {
            Credentials c = credentialsFor(ep);
            if (authorization.containsKey(ep.host()) && !authorization.get(ep.host()).startsWith("Bearer ")
                    || !c.registryToken().isEmpty() && authorization.containsKey(ep.host())) {
                throw refused(ep, c, body);
            }
            List<AuthChallenge> chs = AuthChallenge.parse(headers.allValues("WWW-Authenticate"));
            AuthChallenge bearer = chs.stream().filter(x -> x.scheme().equals("bearer")).findFirst().orElse(null);
            AuthChallenge basic = chs.stream().filter(x -> x.scheme().equals("basic")).findFirst().orElse(null);
            if (bearer != null) {
                challenges.put(ep.host(), bearer);
                String scope = scope(bearer);
                String key = tokenKey(bearer, scope, c);
                tokens.remove(key); // the one we had (if any) was just refused
                Token t = fetchToken(ep, bearer, scope, c);
                tokens.put(key, t);
                authorization.put(ep.host(), "Bearer " + t.value());
            } else if (basic != null) {
                if (!c.hasPassword()) {
                    throw new BerthException(Kind.UNAUTHENTICATED, "pull " + ref + ": registry " + ep.host()
                            + " requires credentials (401 Unauthorized) and none were given");
                }
                authorization.put(ep.host(), c.basicHeader());
            } else {
                throw new BerthException(Kind.UNAUTHENTICATED, "pull " + ref + ": registry " + ep.host()
                        + " answered 401 without a usable WWW-Authenticate challenge: " + body);
            }
        }

        private BerthException refused(Endpoint ep, Credentials c, String body) {
            return new BerthException(Kind.UNAUTHENTICATED, "pull " + ref + ": registry " + ep.host()
                    + " rejected the credentials (" + c.describe() + "): 401 Unauthorized"
                    + (body.isBlank() ? "" : ": " + body));
        }

        private String scope(AuthChallenge ch) {
            String s = ch.param("scope");
            return s.isEmpty() ? "repository:" + ref.repository() + ":pull" : s;
        }

        private String tokenKey(AuthChallenge ch, String scope, Credentials c) {
            return ch.param("realm") + "|" + ch.param("service") + "|" + scope + "|" + c.username() + "|"
                    + Integer.toHexString((c.password() + c.identityToken()).hashCode());
        }

        /**
         * Docker token specification: GET the realm with service and scope, with Basic credentials
         * when we have them; an identity token is an OAuth2 refresh token, POSTed as a form
         * (distribution's "OAuth2 Token Authentication").
         */
        private Token fetchToken(Endpoint ep, AuthChallenge ch, String scope, Credentials c)
                throws IOException, InterruptedException {
            String realm = ch.param("realm");
            if (realm.isEmpty()) {
                throw new BerthException(Kind.UNAUTHENTICATED, "pull " + ref + ": registry " + ep.host()
                        + " sent a Bearer challenge without a realm");
            }
            String service = ch.param("service");
            HttpRequest.Builder req;
            if (!c.identityToken().isEmpty()) {
                String form = "grant_type=refresh_token&client_id=berth&refresh_token=" + enc(c.identityToken())
                        + "&service=" + enc(service) + "&scope=" + enc(scope);
                req = HttpRequest.newBuilder(URI.create(realm))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(form));
            } else {
                StringBuilder q = new StringBuilder(realm).append(realm.contains("?") ? "&" : "?");
                q.append("service=").append(enc(service));
                for (String s : scope.split(" ")) {
                    q.append("&scope=").append(enc(s));
                }
                req = HttpRequest.newBuilder(URI.create(q.toString())).GET();
                if (c.hasPassword()) {
                    req.header("Authorization", c.basicHeader());
                }
            }
            req.header("User-Agent", USER_AGENT).timeout(Duration.ofSeconds(30));
            int status;
            String text;
            try {
                HttpResponse<InputStream> r = ep.client().send(req.build());
                status = r.statusCode();
                try (InputStream in = r.body()) {
                    text = new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
                }
            } catch (ConnectException e) {
                throw new BerthException(Kind.UNAVAILABLE, "pull " + ref + ": cannot reach token server " + realm
                        + ": " + e.getMessage(), e);
            }
            // An OAuth2 token endpoint refuses a bad refresh token or password with 400 and the
            // error "invalid_grant" (RFC 6749 section 5.2), where the GET endpoint says 401.
            if (status == 401 || status == 403 || status == 400 && "invalid_grant".equals(oauthError(text))) {
                throw new BerthException(Kind.UNAUTHENTICATED, "pull " + ref + ": token server " + realm
                        + " rejected the credentials (" + c.describe() + "): " + status + " " + shorten(text));
            }
            if (status != 200) {
                throw new BerthException(Kind.UNAVAILABLE, "pull " + ref + ": token server " + realm + " answered "
                        + status + " " + shorten(text));
            }
            JsonNode json = JSON.readTree(text);
            String token = json.path("token").asText(json.path("access_token").asText(""));
            if (token.isEmpty()) {
                throw new BerthException(Kind.UNAUTHENTICATED, "pull " + ref + ": token server " + realm
                        + " returned no token");
            }
            // expires_in defaults to 60 s (token spec); renew a little early.
            long seconds = Math.max(json.path("expires_in").asLong(60), 1);
            return new Token(token, System.nanoTime() + Duration.ofSeconds(seconds).toNanos() * 9 / 10);
        }

        /**
         * The credentials for an endpoint: the CRI AuthConfig when it names this host (or no host,
         * as containerd's ParseAuth takes it), else docker config.json's entry for the host.
         */
        private Credentials credentialsFor(Endpoint ep) {
            if (!criAuth.isAnonymous() && (criServer.isEmpty() || sameRegistry(criServer, ep.host())
                    || sameRegistry(criServer, ref.domain()) && !ep.mirror())) {
                return criAuth;
            }
            Credentials c = dockerConfig == null ? Credentials.ANONYMOUS : dockerConfig.lookup(ep.host());
            if (c.isAnonymous() && !ep.mirror() && dockerConfig != null) {
                c = dockerConfig.lookup(ref.domain());
            }
            return c;
        }

        private void check(HttpResponse<InputStream> r, Endpoint ep, String what) throws IOException {
            int code = r.statusCode();
            if (code >= 200 && code < 300) {
                return;
            }
            String body = errorText(r);
            String msg = what + " of " + ref + " from " + ep + ": " + code + (body.isBlank() ? "" : " " + body);
            Kind kind = switch (code) {
                case 401 -> Kind.UNAUTHENTICATED;
                case 403 -> Kind.PERMISSION_DENIED;
                case 404 -> Kind.NOT_FOUND;
                case 400 -> Kind.INVALID_ARGUMENT;
                default -> Kind.UNAVAILABLE;
            };
            if (code == 401) {
                throw refused(ep, credentialsFor(ep), body);
            }
            throw new BerthException(kind, code == 404 ? "image " + ref + ": " + what + " not found at " + ep
                    + (body.isBlank() ? "" : " (" + body + ")") : msg);
        }
    }

    /**
     * The certificate check that failed a TLS handshake (no trusted path, a name or IP address the
     * certificate does not cover, expiry), or null when the handshake failed otherwise, e.g. because
     * the server answered in plain HTTP ("Unsupported or unrecognized SSL message").
     */
    static CertificateException certificateProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException c) {
                return c;
            }
        }
        return null;
    }

    static boolean sameRegistry(String server, String host) {
        String s = DockerConfig.hostOf(server);
        return s.equals(host) || hubAlias(s) && hubAlias(host);
    }

    private static boolean hubAlias(String h) {
        return h.equals("docker.io") || h.equals("index.docker.io") || h.equals("registry-1.docker.io");
    }

    private BerthException tooLarge(ImageRef ref, String reference, long declared) {
        return new BerthException(Kind.INVALID_ARGUMENT, "manifest '" + reference + "' of " + ref + " is "
                + (declared > 0 ? declared + " bytes, " : "") + "over the " + maxManifestBytes / 1024
                + " KiB limit for a manifest (images.max_manifest_bytes)");
    }

    private static java.security.MessageDigest hash(Digest d, byte[] bytes) {
        var md = d.newHasher();
        md.update(bytes);
        return md;
    }

    /** The registry's error text: distribution-spec error codes ({"errors":[{code, message}]}), or the body. */
    static String errorText(HttpResponse<InputStream> r) throws IOException {
        byte[] b;
        try (InputStream in = r.body()) {
            b = in.readNBytes(8192);
        }
        String s = new String(b, StandardCharsets.UTF_8).trim();
        try {
            JsonNode errors = JSON.readTree(s).path("errors");
            if (errors.isArray() && !errors.isEmpty()) {
                var parts = new ArrayList<String>();
                errors.forEach(e -> parts.add(e.path("code").asText() + ": " + e.path("message").asText()));
                return String.join("; ", parts);
            }
        } catch (IOException | RuntimeException notJson) {
            // plain text
        }
        return shorten(s);
    }

    /** The {@code error} of an RFC 6749 section 5.2 error response, or "". */
    private static String oauthError(String body) {
        try {
            return JSON.readTree(body).path("error").asText("");
        } catch (IOException | RuntimeException notJson) {
            return "";
        }
    }

    private static String shorten(String s) {
        String one = s.replaceAll("\\s+", " ").trim();
        return one.length() > 300 ? one.substring(0, 300) + "..." : one;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
