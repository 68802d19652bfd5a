package io.berth.e2e.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.AuthConfig;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.PullImageRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.CriClient;
import io.berth.e2e.fixtures.TestCerts;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestImages.Built;
import io.berth.e2e.fixtures.TestRegistry;
import io.berth.e2e.fixtures.TokenServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Registry trust and credentials end to end, through the agent's CRI socket against real
 * docker-registry processes on 127.0.0.1:
 * <ul>
 *   <li>an HTTPS registry whose certificate a test CA issued (made with openssl): untrusted by
 *       default, trusted through {@code images.registries."HOST".ca_file}, a certs.d
 *       {@code HOST/ca.crt}, or skipped through certs.d {@code HOST/hosts.toml skip_verify};</li>
 *   <li>a registry with distribution's token access controller and a {@link TokenServer} issuing
 *       signed JWTs: user name and password (GET with Basic, docs/spec/auth/token.md), a bearer
 *       token given as AuthConfig.registry_token, and an OAuth2 refresh token given as
 *       AuthConfig.identity_token (POST grant_type=refresh_token, docs/spec/auth/oauth.md).</li>
 * </ul>
 * Nothing here needs root: pulls as any user unpack into the agent's own state directory.
 */
class RegistryAuthIT {
    @TempDir
    static Path dir;

    static Built busybox;
    static TestCerts.Tls tls;
    static TestRegistry https;
    static String httpsRef;
    static TokenServer tokens;
    static TestRegistry tokenRegistry;
    static AgentProcess agent;
    static CriClient cri;

    @BeforeAll
    static void start() throws Exception {
        busybox = TestImages.image().layer(TestImages.busyboxLayer()).build(dir.resolve("layouts/busybox"));
        tls = TestCerts.tls(dir.resolve("certs"));
        https = TestRegistry.startWithTls(dir.resolve("reg-https"), tls);
        httpsRef = https.push(busybox.layout(), "secure/busybox:1");

        tokens = TokenServer.start(dir.resolve("tokens"), "carol", "c0rrect-horse");
        tokenRegistry = TestRegistry.startWithTokenAuth(dir.resolve("reg-token"), tokens);
        for (String repo : List.of("password", "registry-token", "identity")) {
            tokenRegistry.push(busybox.layout(), "tok/" + repo + ":1");
        }
        // No certs.d of the machine's (/etc/berth/certs.d) may change what these tests see.
        agent = startAgent("agent", "");
        cri = agent.client();
    }

    @AfterAll
    static void stop() throws Exception {
        if (cri != null) cri.close();
        if (agent != null) agent.close();
        if (tokenRegistry != null) tokenRegistry.close();
        if (tokens != null) tokens.close();
        if (https != null) https.close();
    }

    /** An agent under {@code dir/name} whose config is {@code toml} and an empty registry_config_dir of its own. */
    static AgentProcess startAgent(String name, String toml) throws Exception {
        return startAgent(name, toml, Files.createDirectories(dir.resolve(name + "-certs.d")));
    }

    static AgentProcess startAgent(String name, String toml, Path certsDir) throws Exception {
        Path config = dir.resolve(name + ".toml");
        Files.writeString(config, """
                [images]
                registry_config_dir = "%s"
                %s""".formatted(certsDir, toml));
        return AgentProcess.start(dir.resolve(name), "--config", config.toString());
    }

    static String pull(CriClient c, String ref, AuthConfig auth) {
        var req = PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref));
        if (auth != null) {
            req.setAuth(auth);
        }
        return c.images().pullImage(req.build()).getImageRef();
    }

    static StatusRuntimeException pullFails(CriClient c, String ref, AuthConfig auth) {
        return assertThrows(StatusRuntimeException.class, () -> pull(c, ref, auth));
    }

    // ---- HTTPS with a CA of our own ----

    @Test
    void anUntrustedCertificateFailsThePullNamingTheHostAndTheCertificate() throws Exception {
        try (var a = startAgent("agent-untrusted", ""); var c = a.client()) {
            var e = pullFails(c, httpsRef, null);
            String msg = e.getStatus().getDescription();
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getMessage());
            assertTrue(msg.contains("the certificate of " + https.host() + " is not trusted"), msg);
            assertTrue(msg.contains("ca_file"), "says how to fix it: " + msg);
            // A loopback registry that does speak TLS must not be retried in clear text.
            assertFalse(a.log().contains("using plain HTTP"), a.log());
        }
    }

    @Test
    void caFileOfTheRegistryMakesItTrusted() throws Exception {
        try (var a = startAgent("agent-ca-file", """
                [images.registries."%s"]
                ca_file = "%s"
                """.formatted(https.host(), tls.caCert())); var c = a.client()) {
            assertEquals(busybox.id(), pull(c, httpsRef, null));
        }
    }

    @Test
    void certsDirCaCrtMakesItTrusted() throws Exception {
        Path certsDir = dir.resolve("certs.d-ca");
        Files.createDirectories(certsDir.resolve(https.host()));
        Files.copy(tls.caCert(), certsDir.resolve(https.host()).resolve("ca.crt"));
        try (var a = startAgent("agent-certs-d", "", certsDir); var c = a.client()) {
            assertEquals(busybox.id(), pull(c, httpsRef, null));
        }
    }

    @Test
    void certsDirHostsTomlSkipVerifyAcceptsTheCertificate() throws Exception {
        Path certsDir = dir.resolve("certs.d-skip");
        Files.createDirectories(certsDir.resolve(https.host()));
        // containerd docs/hosts.md: the top-level fields configure the server itself.
        Files.writeString(certsDir.resolve(https.host()).resolve("hosts.toml"), """
                server = "https://%s"
                skip_verify = true
                """.formatted(https.host()));
        try (var a = startAgent("agent-skip-verify", "", certsDir); var c = a.client()) {
            assertEquals(busybox.id(), pull(c, httpsRef, null));
        }
    }

    // ---- Bearer tokens from a token server ----

    @Test
    void userAndPasswordAreExchangedForATokenAndAWrongPasswordIsRefused() {
        String ref = tokenRegistry.host() + "/tok/password:1";
        var anonymous = pullFails(cri, ref, null);
        assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode(), anonymous.getMessage());

        var wrong = pullFails(cri, ref, AuthConfig.newBuilder().setUsername("carol").setPassword("wr0ng").build());
        String msg = wrong.getStatus().getDescription();
        assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode(), wrong.getMessage());
        assertTrue(msg.contains("token server " + tokens.realm() + " rejected the credentials (user 'carol')"), msg);
        assertFalse(msg.contains("wr0ng"), "never echo the password: " + msg);

        int issued = tokens.issued();
        assertEquals(busybox.id(), pull(cri, ref, AuthConfig.newBuilder().setUsername("carol")
                .setPassword("c0rrect-horse").setServerAddress(tokenRegistry.host()).build()));
        assertEquals(issued + 1, tokens.issued(), "one token for the manifest and the blobs");
        var last = tokens.requests().getLast();
        assertEquals("GET", last.method());
        assertTrue(last.authorization(), "Basic credentials to the token server");
        assertEquals(TokenServer.SERVICE, last.param("service"));
        assertEquals(List.of("repository:tok/password:pull"), last.params().get("scope"));
    }

    @Test
    void aRegistryTokenIsPresentedAsTheBearerTokenItself() {
        String ref = tokenRegistry.host() + "/tok/registry-token:1";
        String forAnotherRepo = tokens.mint("carol", List.of("repository:tok/other:pull"));
        var wrong = pullFails(cri, ref, AuthConfig.newBuilder().setRegistryToken(forAnotherRepo).build());
        assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode(), wrong.getMessage());
        assertTrue(wrong.getStatus().getDescription().contains(
                "registry " + tokenRegistry.host() + " rejected the credentials (a registry token)"), wrong.getMessage());

        int requests = tokens.requests().size();
        String token = tokens.mint("carol", List.of("repository:tok/registry-token:pull"));
        assertEquals(busybox.id(), pull(cri, ref, AuthConfig.newBuilder().setRegistryToken(token).build()));
        assertEquals(requests, tokens.requests().size(), "a registry token needs no token server");
    }

    @Test
    void anIdentityTokenIsExchangedAtTheRealmAsAnOAuth2RefreshToken() {
        String ref = tokenRegistry.host() + "/tok/identity:1";
        var wrong = pullFails(cri, ref, AuthConfig.newBuilder().setIdentityToken("refresh-not-mine").build());
        String msg = wrong.getStatus().getDescription();
        assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode(), wrong.getMessage());
        assertTrue(msg.contains("token server " + tokens.realm() + " rejected the credentials (an identity token)"),
                msg);
        assertFalse(msg.contains("refresh-not-mine"), "never echo the token: " + msg);

        assertEquals(busybox.id(), pull(cri, ref,
                AuthConfig.newBuilder().setIdentityToken(tokens.refreshToken()).build()));
        // docs/spec/auth/oauth.md "Getting a token": grant_type, service and client_id are
        // REQUIRED, the refresh token goes in the form, scope once as a space-delimited list.
        var post = tokens.requests().getLast();
        assertEquals("POST", post.method());
        assertEquals("refresh_token", post.param("grant_type"));
        assertEquals(tokens.refreshToken(), post.param("refresh_token"));
        assertEquals(TokenServer.SERVICE, post.param("service"));
        assertFalse(post.param("client_id").isEmpty(), "client_id is required");
        assertEquals(List.of("repository:tok/identity:pull"), post.params().get("scope"));
        assertFalse(post.authorization(), "the refresh token is the credential; no Basic header");
    }
}
