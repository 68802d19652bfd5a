package io.berth.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.domain.BerthException;
import io.berth.agent.image.registry.AuthChallenge;
import io.berth.agent.image.registry.Credentials;
import io.berth.agent.image.registry.DockerConfig;
import io.berth.agent.image.registry.Manifests;
import io.berth.agent.image.registry.MediaTypes;
import io.berth.agent.image.registry.Platform;
import io.berth.agent.image.registry.RegistryHosts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry client's parsing and configuration parts, each on real input. */
class RegistryPartsTest {
    @TempDir
    Path dir;

    @Test
    void parsesBearerAndBasicChallenges() {
        var chs = AuthChallenge.parse(List.of(
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                        + "scope=\"repository:library/busybox:pull\"",
                "Basic realm=\"Registry Realm\""));
        assertEquals(2, chs.size());
        assertEquals("bearer", chs.get(0).scheme());
        assertEquals("https://auth.docker.io/token", chs.get(0).param("realm"));
        assertEquals("registry.docker.io", chs.get(0).param("service"));
        assertEquals("repository:library/busybox:pull", chs.get(0).param("scope"));
        assertEquals("basic", chs.get(1).scheme());
        assertEquals("Registry Realm", chs.get(1).param("realm"));
        var two = AuthChallenge.parse(List.of("Basic realm=\"a\", Bearer realm=\"b\",service=\"s\""));
        assertEquals(List.of("basic", "bearer"), two.stream().map(AuthChallenge::scheme).toList());
    }

    @Test
    void credentialsFromAuthField() {
        String auth = Base64.getEncoder().encodeToString("alice:s3cret:x".getBytes(StandardCharsets.UTF_8));
        var c = Credentials.of("", "", auth, "", "");
        assertEquals("alice", c.username());
        assertEquals("s3cret:x", c.password());
        assertFalse(c.toString().contains("s3cret"), "secrets never in toString");
        assertThrows(BerthException.class, () -> Credentials.of("", "", "!!notbase64", "", ""));
    }

    @Test
    void dockerConfigJson() throws Exception {
        Path f = dir.resolve("config.json");
        Files.writeString(f, """
                {"auths": {
                  "https://index.docker.io/v1/": {"auth": "%s"},
                  "127.0.0.1:5000": {"username": "bob", "password": "pw"},
                  "ghcr.io": {"identitytoken": "refresh-me"}
                }}""".formatted(Base64.getEncoder().encodeToString("hub:pw".getBytes(StandardCharsets.UTF_8))));
        var dc = new DockerConfig(f);
        assertEquals("hub", dc.lookup("docker.io").username());
        assertEquals("hub", dc.lookup("registry-1.docker.io").username());
        assertEquals("bob", dc.lookup("127.0.0.1:5000").username());
        assertEquals("refresh-me", dc.lookup("ghcr.io").identityToken());
        assertTrue(dc.lookup("quay.io").isAnonymous());
        assertTrue(new DockerConfig(dir.resolve("missing.json")).lookup("docker.io").isAnonymous());
    }

    @Test
    void berthSettingsGiveMirrorsThenUpstream() {
        var hosts = new RegistryHosts(Map.of("docker.io", new RegistryHosts.Settings(
                List.of("http://127.0.0.1:5001", "https://mirror.example/prefix"), false, ""),
                "10.0.0.1:5000", new RegistryHosts.Settings(List.of(), true, "")), null);
        var eps = hosts.endpoints("docker.io");
        assertEquals(3, eps.size());
        assertEquals("http://127.0.0.1:5001/v2/library/x/manifests/1",
                eps.get(0).uri("/library/x/manifests/1").toString());
        assertTrue(eps.get(0).mirror());
        assertEquals("https://mirror.example/prefix/v2/x", eps.get(1).uri("/x").toString());
        assertEquals("https://registry-1.docker.io/v2/x", eps.get(2).uri("/x").toString());
        assertFalse(eps.get(2).mirror());
        assertEquals("http://10.0.0.1:5000/v2/x", hosts.endpoints("10.0.0.1:5000").getFirst().uri("/x").toString(),
                "insecure: plain HTTP");
        var plain = hosts.endpoints("quay.io");
        assertEquals("https://quay.io/v2/x", plain.getFirst().uri("/x").toString());
        assertFalse(plain.getFirst().httpFallback());
        assertTrue(hosts.endpoints("127.0.0.1:5000").getFirst().httpFallback(), "loopback: HTTPS then HTTP");
    }

    @Test
    void containerdHostsToml() throws Exception {
        Path certs = dir.resolve("certs.d");
        Files.createDirectories(certs.resolve("docker.io"));
        Files.writeString(certs.resolve("docker.io/hosts.toml"), """
                server = "https://registry-1.docker.io"

                [host."http://127.0.0.1:5001"]
                  capabilities = ["pull", "resolve"]

                [host."https://pull-only.example"]
                  capabilities = ["pull"]
                  skip_verify = true

                [host."https://custom.example/api/v2/mirror"]
                  override_path = true
                  [host."https://custom.example/api/v2/mirror".header]
                    x-tenant = "a"
                """);
        var eps = new RegistryHosts(Map.of(), certs).endpoints("docker.io");
        assertEquals(4, eps.size());
        assertEquals("http://127.0.0.1:5001/v2/r", eps.get(0).uri("/r").toString());
        assertTrue(eps.get(0).resolve());
        assertFalse(eps.get(1).resolve(), "pull-only host does not resolve tags");
        assertEquals("https://custom.example/api/v2/mirror/r", eps.get(2).uri("/r").toString());
        assertEquals("a", eps.get(2).headers().get("x-tenant"));
        assertEquals("https://registry-1.docker.io/v2/r", eps.get(3).uri("/r").toString());
        assertFalse(eps.get(3).mirror());
    }

    @Test
    void choosesLinuxAmd64AndTheBestVariant() {
        byte[] index = """
                {"schemaVersion": 2, "mediaType": "%s", "manifests": [
                 {"mediaType": "%s", "digest": "sha256:%s", "size": 1, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                 {"mediaType": "%s", "digest": "sha256:%s", "size": 2, "platform": {"os": "linux", "architecture": "amd64"}},
                 {"mediaType": "%s", "digest": "sha256:%s", "size": 3, "platform": {"os": "linux", "architecture": "amd64", "variant": "v3"}},
                 {"mediaType": "%s", "digest": "sha256:%s", "size": 4, "platform": {"os": "windows", "architecture": "amd64"}},
                 {"mediaType": "%s", "digest": "sha256:%s", "size": 5, "platform": {"os": "unknown", "architecture": "unknown"}}
                ]}""".formatted(MediaTypes.OCI_INDEX, MediaTypes.OCI_MANIFEST, "1".repeat(64), MediaTypes.OCI_MANIFEST,
                "2".repeat(64), MediaTypes.OCI_MANIFEST, "3".repeat(64), MediaTypes.OCI_MANIFEST, "4".repeat(64),
                MediaTypes.OCI_MANIFEST, "5".repeat(64)).getBytes(StandardCharsets.UTF_8);
        assertEquals(MediaTypes.OCI_INDEX, Manifests.kind(index, "", "index"));
        var entries = Manifests.indexEntries(index, "index");
        assertEquals(2, Manifests.choose(entries, new Platform("linux", "amd64", "v1")).orElseThrow().size());
        assertEquals(3, Manifests.choose(entries, new Platform("linux", "amd64", "v3")).orElseThrow().size());
        assertEquals(3, Manifests.choose(entries, new Platform("linux", "amd64", "v4")).orElseThrow().size());
        assertEquals(1, Manifests.choose(entries, new Platform("linux", "arm64", "v8")).orElseThrow().size());
        assertTrue(Manifests.choose(entries, new Platform("linux", "s390x", "")).isEmpty());
    }

    @Test
    void refusesSchema1AndNonLayers() {
        byte[] s1 = "{\"schemaVersion\": 1, \"name\": \"x\"}".getBytes(StandardCharsets.UTF_8);
        var e = assertThrows(BerthException.class, () -> Manifests.kind(s1, "", "manifest m"));
        assertTrue(e.getMessage().contains("schema 1"), e.getMessage());
        byte[] bad = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":{\"mediaType\":"
                + "\"x\",\"digest\":\"sha256:" + "a".repeat(64) + "\",\"size\":1},\"layers\":[{\"mediaType\":"
                + "\"application/vnd.in-toto+json\",\"digest\":\"sha256:" + "b".repeat(64) + "\",\"size\":2}]}")
                .getBytes(StandardCharsets.UTF_8);
        assertThrows(BerthException.class, () -> Manifests.imageManifest(bad, "manifest m"));
    }

    @Test
    void chainIdsFollowTheSpec() {
        var a = Digest.parse("sha256:" + "a".repeat(64));
        var b = Digest.parse("sha256:" + "b".repeat(64));
        var ids = ImagePuller.chainIds(List.of(a, b));
        assertEquals(a.toString(), ids.get(0));
        assertEquals(Digest.sha256((a + " " + b).getBytes(StandardCharsets.UTF_8)).toString(), ids.get(1));
    }
}
