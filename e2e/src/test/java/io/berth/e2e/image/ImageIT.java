package io.berth.e2e.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.berth.cri.v1.AuthConfig;
import io.berth.cri.v1.ImageFilter;
import io.berth.cri.v1.ImageFsInfoRequest;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.ImageStatusRequest;
import io.berth.cri.v1.ImageStatusResponse;
import io.berth.cri.v1.ListImagesRequest;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemoveImageRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.CriClient;
import io.berth.kernel.testing.Tar;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestImages.Built;
import io.berth.e2e.fixtures.TestRegistry;
import io.berth.e2e.fixtures.TokenServer;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CRI ImageService end to end: a real agent, real docker-registry processes on 127.0.0.1,
 * images built from busybox-static and pushed with skopeo; everything through the agent's socket.
 */
class ImageIT {
    @TempDir
    static Path dir;

    static TestRegistry registry;
    static AgentProcess agent;
    static CriClient cri;
    static Built busybox;
    static String busyboxRef;

    @BeforeAll
    static void start() throws Exception {
        registry = TestRegistry.start(dir.resolve("registry"));
        busybox = TestImages.image().layer(TestImages.busyboxLayer()).user("1000").label("test", "busybox")
                .build(dir.resolve("layouts/busybox"));
        busyboxRef = registry.push(busybox.layout(), "busybox:1");
        agent = AgentProcess.start(dir.resolve("agent"));
        cri = agent.client();
    }

    @AfterAll
    static void stop() throws Exception {
        if (cri != null) cri.close();
        if (agent != null) agent.close();
        if (registry != null) registry.close();
    }

    static String pull(CriClient c, String ref) {
        return c.images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(ref)).build()).getImageRef();
    }

    static String pull(CriClient c, String ref, AuthConfig auth) {
        return c.images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(ref)).setAuth(auth).build()).getImageRef();
    }

    static ImageStatusResponse status(CriClient c, String ref, boolean verbose) {
        return c.images().imageStatus(ImageStatusRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(ref)).setVerbose(verbose).build());
    }

    static void remove(CriClient c, String ref) {
        c.images().removeImage(RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build());
    }

    static Path storeDir(AgentProcess a) {
        return a.dir().resolve("state/images");
    }

    static Path layerDir(AgentProcess a, String chainId) {
        return storeDir(a).resolve("layers/" + chainId.substring(7) + "/diff");
    }

    /**
     * Every file of the store with its size: "the store as it was". Taken once the store's syncer
     * has cleared the unsynced marks of earlier pulls (bounded wait), since clearing them rewrites
     * index.json in the background.
     */
    static Map<String, Long> snapshot(AgentProcess a) throws IOException {
        var out = new TreeMap<String, Long>();
        Path root = storeDir(a);
        Path index = root.resolve("index.json");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Files.exists(index) && System.nanoTime() < deadline) {
            String json = Files.readString(index).replaceAll("\\s", "");
            if (json.contains("\"unsyncedLayers\":{}") && json.contains("\"unsyncedBlobs\":{}")) {
                break;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
            }
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                out.put(root.relativize(p).toString(), Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                        ? Files.size(p) : -1L);
            }
        }
        return out;
    }

    static StatusRuntimeException pullFails(CriClient c, String ref) {
        return assertThrows(StatusRuntimeException.class, () -> pull(c, ref));
    }

    @Test
    void pullByTagThenByDigestGivesTheImageId() throws Exception {
        String id = pull(cri, busyboxRef);
        assertEquals(busybox.id(), id, "PullImage returns the image id (config digest)");

        var st = status(cri, busyboxRef, true);
        assertTrue(st.hasImage());
        assertEquals(id, st.getImage().getId());
        assertEquals(List.of(busyboxRef), st.getImage().getRepoTagsList());
        assertEquals(List.of(registry.host() + "/busybox@" + busybox.topDigest()), st.getImage().getRepoDigestsList());
        assertTrue(st.getImage().getSize() > 500_000, "busybox-static is most of a megabyte");
        assertEquals(1000, st.getImage().getUid().getValue());
        String info = st.getInfoOrThrow("info");
        assertTrue(info.contains("\"Labels\":{\"test\":\"busybox\"}"), info);

        String byDigest = registry.host() + "/busybox@" + busybox.topDigest();
        assertEquals(id, pull(cri, byDigest));
        assertEquals(id, status(cri, byDigest, false).getImage().getId());
        assertEquals(id, status(cri, id, false).getImage().getId(), "ImageStatus by id");

        // The unpacked layer is a usable lower dir: the binary, its applet links, modes.
        String chainId = busybox.diffIds().getFirst();
        Path layer = layerDir(agent, chainId);
        assertTrue(Files.isRegularFile(layer.resolve("bin/busybox")));
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(layer.resolve("bin/sh")));
        assertEquals(01777, (int) Files.getAttribute(layer.resolve("tmp"), "unix:mode") & 07777);
        if (rootChecks("layer owners kept")) {
            assertEquals(1000, Files.getAttribute(layer.resolve("home/app"), "unix:uid"), "owners kept as root");
        }

        var listed = cri.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList();
        assertTrue(listed.stream().anyMatch(i -> i.getId().equals(id)));
        var filtered = cri.images().listImages(ListImagesRequest.newBuilder().setFilter(ImageFilter.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(busyboxRef))).build()).getImagesList();
        assertEquals(List.of(id), filtered.stream().map(i -> i.getId()).toList());
        var none = cri.images().listImages(ListImagesRequest.newBuilder().setFilter(ImageFilter.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(registry.host() + "/nope:1"))).build()).getImagesList();
        assertTrue(none.isEmpty());

        assertFalse(status(cri, registry.host() + "/nope:1", false).hasImage(), "absent: empty answer, no error");

        var fs = cri.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance()).getImageFilesystems(0);
        assertEquals(storeDir(agent).toString(), fs.getFsId().getMountpoint());
        assertTrue(fs.getUsedBytes().getValue() > 500_000);
        assertTrue(fs.getInodesUsed().getValue() > TestImages.APPLETS.size());
    }

    @Test
    void gzipZstdAndPlainLayersInOneImage() throws Exception {
        Built b = TestImages.image()
                .layer(TestImages.busyboxLayer())
                .layer(new TestImages.Layer(new Tar().file("etc/zstd", "z").bytes(), TestImages.Compression.ZSTD))
                .layer(new TestImages.Layer(new Tar().file("etc/plain", "p").bytes(), TestImages.Compression.NONE))
                .layer(new TestImages.Layer(new Tar().whiteout("etc", "zstd").bytes()))
                .build(dir.resolve("layouts/mixed"));
        String id = pull(cri, registry.push(b.layout(), "mixed:1"));
        assertEquals(b.id(), id);
        var chain = chainIds(b.diffIds());
        assertEquals("z", Files.readString(layerDir(agent, chain.get(1)).resolve("etc/zstd")));
        assertEquals("p", Files.readString(layerDir(agent, chain.get(2)).resolve("etc/plain")));
        if (rootChecks("whiteout device node")) {
            assertEquals(0L, (long) Files.getAttribute(layerDir(agent, chain.get(3)).resolve("etc/zstd"), "unix:rdev"),
                    "whiteout as an overlay 0/0 char device");
        }
    }

    @Test
    void aLayerAddingUnderALowerSymlinkWritesThroughIt() throws Exception {
        // A merged-/usr base (lib -> usr/lib), then a layer adding lib/x with no "lib" entry of its own:
        // the file lands in usr/lib/x, and no lib directory hides the lower symlink (containerd's result).
        Built b = TestImages.image()
                .layer(new TestImages.Layer(new Tar().dir("usr", 0755).dir("usr/lib", 0755).symlink("lib", "usr/lib")
                        .file("usr/lib/base", "base").bytes()))
                .layer(new TestImages.Layer(new Tar().file("lib/x", "x").bytes()))
                .build(dir.resolve("layouts/merged-usr"));
        assertEquals(b.id(), pull(cri, registry.push(b.layout(), "merged-usr:1")));
        Path upper = layerDir(agent, chainIds(b.diffIds()).get(1));
        assertEquals("x", Files.readString(upper.resolve("usr/lib/x")));
        assertFalse(Files.exists(upper.resolve("lib"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void multiArchIndexChoosesLinuxAmd64() throws Exception {
        var arm = TestImages.image().layer(TestImages.fileLayer("arch", "arm64")).platform("arm64", "v8")
                .label("arch", "arm64");
        var amd = TestImages.image().layer(TestImages.fileLayer("arch", "amd64")).label("arch", "amd64");
        Built b = TestImages.multiArch(dir.resolve("layouts/multi"), List.of(arm, amd));
        String ref = registry.push(b.layout(), "multi:1");
        String id = pull(cri, ref);
        assertEquals(b.id(), id);
        var st = status(cri, ref, true);
        assertTrue(st.getInfoOrThrow("info").contains("\"arch\":\"amd64\""));
        assertEquals(List.of(registry.host() + "/multi@" + b.topDigest()), st.getImage().getRepoDigestsList(),
                "the repo digest is the index's, as kubelet and containerd report it");
        assertEquals("amd64", Files.readString(layerDir(agent, b.diffIds().getFirst()).resolve("arch")));
    }

    @Test
    void basicAuthRightAndWrongCredentials() throws Exception {
        try (var secured = TestRegistry.startWithBasicAuth(dir.resolve("reg-basic"), "alice", "s3cret")) {
            String ref = secured.push(TestImages.busybox(dir.resolve("layouts/basic")), "private/busybox:1");
            var none = pullFails(cri, ref);
            assertEquals(Status.Code.UNAUTHENTICATED, none.getStatus().getCode());
            assertTrue(none.getStatus().getDescription().contains("requires credentials"), none.getMessage());

            var wrong = assertThrows(StatusRuntimeException.class, () -> pull(cri, ref,
                    AuthConfig.newBuilder().setUsername("alice").setPassword("wrong").build()));
            assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
            assertTrue(wrong.getStatus().getDescription().contains("rejected the credentials (user 'alice')"),
                    wrong.getMessage());
            assertFalse(wrong.getStatus().getDescription().contains("wrong"), "never echo the password");

            String auth = Base64.getEncoder().encodeToString("alice:s3cret".getBytes(StandardCharsets.UTF_8));
            String id = pull(cri, ref, AuthConfig.newBuilder().setAuth(auth).setServerAddress(secured.host()).build());
            assertTrue(id.startsWith("sha256:"));
        }
    }

    @Test
    void bearerTokenAuthWithTokenCache() throws Exception {
        try (var tokens = TokenServer.start(dir.resolve("tokens"), "bob", "hunter2");
                var secured = TestRegistry.startWithTokenAuth(dir.resolve("reg-token"), tokens)) {
            String ref = secured.push(TestImages.image().layer(TestImages.fileLayer("x", "token"))
                    .build(dir.resolve("layouts/token")).layout(), "tok/img:1");
            int issuedByPush = tokens.issued();
            var wrong = assertThrows(StatusRuntimeException.class, () -> pull(cri, ref,
                    AuthConfig.newBuilder().setUsername("bob").setPassword("nope").build()));
            assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
            assertTrue(wrong.getStatus().getDescription().contains("token server " + tokens.realm()),
                    wrong.getMessage());

            var good = AuthConfig.newBuilder().setUsername("bob").setPassword("hunter2").build();
            pull(cri, ref, good);
            assertEquals(issuedByPush + 1, tokens.issued(), "one token for manifest and blobs");
            remove(cri, ref);
            pull(cri, ref, good);
            assertEquals(issuedByPush + 1, tokens.issued(), "the cached token was used again");
        }
    }

    @Test
    void aDownMirrorFallsBackToTheRegistryAndAWorkingMirrorIsUsed() throws Exception {
        try (var mirror = TestRegistry.start(dir.resolve("reg-mirror"))) {
            // The image exists only on the mirror, under the upstream's repository name.
            Built onlyOnMirror = TestImages.image().layer(TestImages.fileLayer("m", "mirror"))
                    .build(dir.resolve("layouts/mirror"));
            mirror.push(onlyOnMirror.layout(), "mirrored:1");
            int closed = AgentProcess.freePort();
            Path config = dir.resolve("mirror-agent.toml");
            Files.writeString(config, """
                    [images.registries."%s"]
                    mirrors = ["http://127.0.0.1:%d", "http://%s"]
                    insecure = true
                    """.formatted(registry.host(), closed, mirror.host()));
            try (var a = AgentProcess.start(dir.resolve("agent-mirror"), "--config", config.toString());
                    var c = a.client()) {
                assertEquals(busybox.id(), pull(c, busyboxRef), "down mirror, then upstream");
                assertEquals(onlyOnMirror.id(), pull(c, registry.host() + "/mirrored:1"), "served by the mirror");
                String log = a.log();
                assertTrue(log.contains("mirror failed"), log);
            }
        }
    }

    @Test
    void aMirrorServingABadBlobFallsBackToTheRegistry() throws Exception {
        try (var mirror = TestRegistry.start(dir.resolve("reg-bad-mirror"))) {
            // The same image on both; the mirror's copy of the layer has one byte flipped.
            Built b = TestImages.image().layer(TestImages.fileLayer("bad", "m".repeat(50_000)))
                    .label("n", "bad-mirror").build(dir.resolve("layouts/bad-mirror"));
            String ref = registry.push(b.layout(), "badmirror:1");
            mirror.push(b.layout(), "badmirror:1");
            String layer = b.layerDigests().getFirst();
            Path data = mirror.blobData(layer);
            byte[] bytes = Files.readAllBytes(data);
            bytes[bytes.length / 2] ^= 0x55;
            Files.write(data, bytes);
            Path config = dir.resolve("bad-mirror-agent.toml");
            Files.writeString(config, """
                    [images.registries."%s"]
                    mirrors = ["http://%s"]
                    insecure = true
                    """.formatted(registry.host(), mirror.host()));
            long before = registry.blobGets(layer);
            try (var a = AgentProcess.start(dir.resolve("agent-bad-mirror"), "--config", config.toString());
                    var c = a.client()) {
                assertEquals(b.id(), pull(c, ref), "the registry's good copy after the mirror's bad one");
                Thread.sleep(200); // the registry writes its access log line after the response
                assertEquals(1, registry.blobGets(layer) - before, "the layer came from the registry once");
                // Mirror requests carry ?ns=REGISTRY (containerd's convention), so match the path's start.
                assertEquals(1, mirror.requests().stream().filter(r -> r.method().equals("GET")
                        && r.path().contains("/blobs/" + layer)).count(), "and from the mirror once, before that");
                String log = a.log();
                assertTrue(log.contains("endpoint served a bad blob; trying the next endpoint"), log);
                assertEquals("m".repeat(50_000), Files.readString(layerDir(a, b.diffIds().getFirst()).resolve("bad")));
            }
        }
    }

    @Test
    void aBlobWhoseBytesDoNotMatchItsDigestFailsAndLeavesTheStore() throws Exception {
        Built b = TestImages.image().layer(TestImages.fileLayer("data", "x".repeat(4096)))
                .build(dir.resolve("layouts/corrupt"));
        String ref = registry.push(b.layout(), "corrupt:1");
        Path data = registry.blobData(b.layerDigests().getFirst());
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(data, bytes);
        var before = snapshot(agent);
        var e = pullFails(cri, ref);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(b.layerDigests().getFirst()), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains("does not match its digest"), e.getMessage());
        assertEquals(before, snapshot(agent));
    }

    @Test
    void aTruncatedLayerFailsAndLeavesTheStore() throws Exception {
        Built b = TestImages.image().layer(TestImages.fileLayer("data", "y".repeat(100_000)))
                .build(dir.resolve("layouts/truncated"));
        String ref = registry.push(b.layout(), "truncated:1");
        try (var f = new RandomAccessFile(registry.blobData(b.layerDigests().getFirst()).toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        var before = snapshot(agent);
        var e = pullFails(cri, ref);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains(b.layerDigests().getFirst()), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains("truncated"), e.getMessage());
        assertEquals(before, snapshot(agent));
    }

    @Test
    void aLayerWithDotDotIsRefusedNamingTheEntry() throws Exception {
        Built b = TestImages.image().layer(new TestImages.Layer(new Tar().file("../etc/passwd", "root::0:0::/:/bin/sh\n")
                .bytes())).build(dir.resolve("layouts/dotdot"));
        String ref = registry.push(b.layout(), "dotdot:1");
        var before = snapshot(agent);
        var e = pullFails(cri, ref);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("'../etc/passwd'"), e.getMessage());
        assertEquals(before, snapshot(agent));
        assertFalse(Files.exists(storeDir(agent).resolve("layers/etc")));
    }

    @Test
    void aSymlinkEscapeIsRefusedNamingTheEntry() throws Exception {
        Path victim = Files.createDirectories(dir.resolve("victim"));
        Built b = TestImages.image().layer(new TestImages.Layer(new Tar().symlink("evil", victim.toString())
                .file("evil/pwned", "x").bytes())).build(dir.resolve("layouts/symlink"));
        String ref = registry.push(b.layout(), "symlink:1");
        var before = snapshot(agent);
        var e = pullFails(cri, ref);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("'evil/pwned'"), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains("symlink"), e.getMessage());
        assertFalse(Files.exists(victim.resolve("pwned")));
        assertEquals(before, snapshot(agent));
    }

    @Test
    void aManifestOverTheLimitIsRefused() throws Exception {
        // distribution itself refuses manifests over 4 MiB on push, so the limit is lowered here
        // (images.max_manifest_bytes) and the manifest made just larger than it.
        Path config = dir.resolve("small-manifests.toml");
        Files.writeString(config, "[images]\nmax_manifest_bytes = 65536\n");
        Built b = TestImages.image().layer(TestImages.fileLayer("a", "b")).annotation("padding", "p".repeat(70_000))
                .build(dir.resolve("layouts/huge"));
        String ref = registry.push(b.layout(), "huge:1");
        try (var a = AgentProcess.start(dir.resolve("agent-small"), "--config", config.toString());
                var c = a.client()) {
            var before = snapshot(a);
            var e = pullFails(c, ref);
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("over the 64 KiB limit"), e.getMessage());
            assertEquals(before, snapshot(a));
            assertEquals(busybox.id(), pull(c, busyboxRef), "a normal image still pulls");
        }
    }

    @Test
    void concurrentPullsOfOneImageDownloadEachBlobOnce() throws Exception {
        Built b = TestImages.image().layer(TestImages.busyboxLayer()).layer(TestImages.fileLayer("c", "concurrent"))
                .label("n", "concurrent").build(dir.resolve("layouts/concurrent"));
        String ref = registry.push(b.layout(), "concurrent:1");
        var before = b.layerDigests().stream().map(registry::blobGets).toList();
        try (var pool = Executors.newFixedThreadPool(4)) {
            var futures = new ArrayList<Future<String>>();
            for (int i = 0; i < 4; i++) {
                futures.add(pool.submit((Callable<String>) () -> pull(cri, ref)));
            }
            for (var f : futures) {
                assertEquals(b.id(), f.get());
            }
        }
        Thread.sleep(200); // the registry writes its access log line after the response
        for (int i = 0; i < b.layerDigests().size(); i++) {
            String d = b.layerDigests().get(i);
            long gets = registry.blobGets(d) - before.get(i);
            // The busybox layer may already be in the store from another test (then 0 GETs).
            assertTrue(gets <= 1, "layer " + d + " fetched " + gets + " times");
        }
        assertEquals(1, registry.blobGets(b.layerDigests().get(1)) - before.get(1), "the new layer exactly once");
        String metrics = httpGet(agent, "/metrics");
        assertTrue(metrics.contains("berth_image_pulls_total{result=\"shared\",}")
                || metrics.contains("berth_image_pulls_total{result=\"present\",}"), metrics);
        assertTrue(metrics.contains("berth_image_pull_bytes_total"), metrics);
    }

    @Test
    void removeImageKeepsSharedLayersAndIsIdempotent() throws Exception {
        var base = TestImages.fileLayer("base", "shared base");
        Built one = TestImages.image().layer(base).layer(TestImages.fileLayer("one", "1"))
                .build(dir.resolve("layouts/rm-one"));
        Built two = TestImages.image().layer(base).layer(TestImages.fileLayer("two", "2"))
                .build(dir.resolve("layouts/rm-two"));
        String refOne = registry.push(one.layout(), "rm-one:1");
        String refTwo = registry.push(two.layout(), "rm-two:1");
        pull(cri, refOne);
        pull(cri, refTwo);
        var chainOne = chainIds(one.diffIds());
        var chainTwo = chainIds(two.diffIds());
        assertEquals(chainOne.getFirst(), chainTwo.getFirst(), "same base layer, same chain id");
        assertEquals(1, registry.blobGets(one.layerDigests().getFirst()), "shared layer downloaded once");

        remove(cri, refOne);
        assertFalse(status(cri, refOne, false).hasImage());
        assertTrue(Files.isDirectory(layerDir(agent, chainOne.getFirst())), "shared base stays");
        assertFalse(Files.exists(layerDir(agent, chainOne.get(1))), "layer only rm-one used is gone");
        assertTrue(status(cri, refTwo, false).hasImage());
        remove(cri, refOne); // idempotent
        remove(cri, two.id()); // by id
        assertFalse(Files.exists(layerDir(agent, chainTwo.getFirst())), "now unused");
        pull(cri, refOne);
        remove(cri, registry.host() + "/rm-one@" + one.topDigest()); // by digest
        assertFalse(status(cri, one.id(), false).hasImage());
    }

    @Test
    void theStoreSurvivesARestartAndAKillMidPull() throws Exception {
        Built small = TestImages.image().layer(TestImages.fileLayer("s", "survivor"))
                .build(dir.resolve("layouts/survivor"));
        String ref = registry.push(small.layout(), "survivor:1");
        Built big = TestImages.image().layer(randomLayer(40 << 20, 1)).layer(randomLayer(40 << 20, 2))
                .build(dir.resolve("layouts/big"));
        String bigRef = registry.push(big.layout(), "big:1");
        Path d = dir.resolve("agent-restart");
        try (var a = AgentProcess.start(d); var c = a.client()) {
            pull(c, ref);
            assertEquals(0, a.terminate(Duration.ofSeconds(20)));
        }
        try (var a = AgentProcess.start(d); var c = a.client()) {
            assertEquals(small.id(), status(c, ref, false).getImage().getId(), "still there after a restart");
            // kill -9 while the big image is being unpacked
            var pool = Executors.newSingleThreadExecutor();
            pool.submit(() -> {
                try {
                    pull(c, bigRef);
                } catch (RuntimeException expected) {
                    // the agent dies under it
                }
            });
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline && !hasWork(a)) {
                Thread.sleep(2);
            }
            a.kill();
            pool.shutdownNow();
        }
        try (var a = AgentProcess.start(d); var c = a.client()) {
            assertEquals(small.id(), status(c, ref, false).getImage().getId());
            assertFalse(status(c, bigRef, false).hasImage(), "a half-pulled image is not there");
            assertFalse(hasWork(a), "no half-unpacked layer left");
            assertEquals(big.id(), pull(c, bigRef), "and it pulls fine now");
        }
    }

    private static boolean hasWork(AgentProcess a) throws IOException {
        Path layers = storeDir(a).resolve("layers");
        if (!Files.isDirectory(layers)) {
            return false;
        }
        try (Stream<Path> s = Files.list(layers)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith(".work-"));
        }
    }

    static TestImages.Layer randomLayer(int bytes, long seed) {
        var r = new java.util.Random(seed);
        byte[] data = new byte[bytes];
        r.nextBytes(data);
        return new TestImages.Layer(new Tar().file("random-" + seed, 0644, data).bytes());
    }

    static List<String> chainIds(List<String> diffIds) throws Exception {
        var out = new ArrayList<String>();
        String chain = null;
        for (String d : diffIds) {
            chain = chain == null ? d : TestImages.sha256((chain + " " + d).getBytes(StandardCharsets.UTF_8));
            out.add(chain);
        }
        return out;
    }

    /**
     * True when the checks that need root (owners, device nodes) can run. Without root they are
     * skipped with a note, except under CI=true, where that fails the test, as
     * {@link io.berth.kernel.testing.RequiresRoot} does for whole classes: CI must never go green
     * by leaving them out.
     */
    static boolean rootChecks(String what) {
        if (RequiresRoot.Check.isRoot()) {
            return true;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail(what + ": this check needs root, and CI=true: root checks must run, not skip");
        }
        System.err.println("ImageIT: skipping the root-only check '" + what + "' (not root)");
        return false;
    }

    static String httpGet(AgentProcess a, String path) throws Exception {
        try (var http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort() + path)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        }
    }
}
