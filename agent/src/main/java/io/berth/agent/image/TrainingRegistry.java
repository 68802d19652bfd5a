package io.berth.agent.image;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.berth.agent.image.registry.Platform;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A registry for the agent's AOT training run (the build, not a node): the distribution API's
 * reads only ({@code /v2/}, a manifest by tag or digest, GET and HEAD, blobs), on 127.0.0.1,
 * serving images made in memory ({@link WarmUpLayer}): a synthetic single-layer one, which the
 * training pulls again and again through the agent's socket, so that the method profiles the AOT
 * cache keeps (JEP 515) are those of many pulls (measured: a fresh agent's JIT then settles after
 * about 20 cold pulls instead of about 150); and, given a static busybox, a runnable one for the
 * training's pods.
 */
public final class TrainingRegistry implements AutoCloseable {
    /** The synthetic image's repository; its tag is {@value #TAG}. */
    public static final String REPOSITORY = "training/image";
    /** The busybox image's repository. */
    public static final String BUSYBOX = "training/busybox";
    /** The busybox image's applets (a symlink each to /bin/busybox). */
    private static final List<String> APPLETS = List.of("sh", "true", "sleep", "cat", "echo", "ls", "ps", "hostname");
    private static final String TAG = "1";
    private static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

    private record Image(byte[] manifest, String digest) {
    }

    private final HttpServer server;
    private final ExecutorService threads;
    private final Map<String, byte[]> blobs;
    private final Map<String, Image> images;

    private TrainingRegistry(HttpServer server, ExecutorService threads, Map<String, byte[]> blobs, Map<String, Image> images) {
        this.server = server;
        this.threads = threads;
        this.blobs = blobs;
        this.images = images;
    }

    /** Serves an image whose one layer is {@code layerBytes} of tar (gzip'd) on a free loopback port. */
    public static TrainingRegistry start(int layerBytes) throws IOException {
        return start(layerBytes, null);
    }

    /** As {@link #start(int)}, and when {@code busybox} is not null, {@value #BUSYBOX} with it at /bin/busybox. */
    public static TrainingRegistry start(int layerBytes, Path busybox) throws IOException {
        var blobs = new HashMap<String, byte[]>();
        var images = new HashMap<String, Image>();
        var tarDigest = Digest.messageDigest("sha256");
        images.put(REPOSITORY, image(blobs, WarmUpLayer.gzip(layerBytes, tarDigest), Digest.of("sha256", tarDigest),
                "\"Cmd\":[\"/bin/sh\"]"));
        if (busybox != null) {
            tarDigest = Digest.messageDigest("sha256");
            byte[] layer = WarmUpLayer.busybox(busybox, APPLETS, tarDigest);
            images.put(BUSYBOX, image(blobs, layer, Digest.of("sha256", tarDigest),
                    "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"]"));
        }
        var server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        var threads = Executors.newFixedThreadPool(4);
        server.setExecutor(threads);
        var registry = new TrainingRegistry(server, threads, Map.copyOf(blobs), Map.copyOf(images));
        server.createContext("/v2/", registry::handle);
        server.start();
        return registry;
    }

    /** A single-layer image of {@code layer} (with its tar's {@code diffId}), its config's {@code config} members; its blobs into {@code blobs}. */
    private static Image image(Map<String, byte[]> blobs, byte[] layer, Digest diffId, String config) {
        Platform host = Platform.host();
        byte[] configJson = ("{\"architecture\":\"" + host.architecture() + "\",\"os\":\"" + host.os()
                + "\",\"config\":{" + config + "},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
                + diffId + "\"]}}").getBytes(StandardCharsets.UTF_8);
        String configDigest = Digest.sha256(configJson).toString();
        String layerDigest = Digest.sha256(layer).toString();
        blobs.put(configDigest, configJson);
        blobs.put(layerDigest, layer);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + MANIFEST_TYPE + "\",\"config\":{\"mediaType\":"
                + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest + "\",\"size\":"
                + configJson.length + "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                + "\"digest\":\"" + layerDigest + "\",\"size\":" + layer.length + "}]}")
                .getBytes(StandardCharsets.UTF_8);
        return new Image(manifest, Digest.sha256(manifest).toString());
    }

    /** The synthetic image's reference by tag. */
    public String reference() {
        return reference(REPOSITORY);
    }

    /** The synthetic image's reference by its manifest's digest. */
    public String referenceByDigest() {
        return host() + "/" + REPOSITORY + "@" + images.get(REPOSITORY).digest();
    }

    /** The busybox image's reference by tag; it is served only if {@link #start(int, Path)} was given a busybox. */
    public String busyboxReference() {
        if (!images.containsKey(BUSYBOX)) {
            throw new IllegalStateException("this training registry serves no busybox image");
        }
        return reference(BUSYBOX);
    }

    private String reference(String repository) {
        return host() + "/" + repository + ":" + TAG;
    }

    /** Where it serves: {@code 127.0.0.1:PORT}. */
    public String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            if (path.equals("/v2/")) {
                reply(x, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8), null);
                return;
            }
            for (var e : images.entrySet()) {
                String prefix = "/v2/" + e.getKey() + "/";
                if (!path.startsWith(prefix)) continue;
                String rest = path.substring(prefix.length());
                Image image = e.getValue();
                if (rest.equals("manifests/" + TAG) || rest.equals("manifests/" + image.digest())) {
                    reply(x, 200, MANIFEST_TYPE, image.manifest(), image.digest());
                    return;
                }
                if (rest.startsWith("blobs/") && blobs.containsKey(rest.substring("blobs/".length()))) {
                    String digest = rest.substring("blobs/".length());
                    reply(x, 200, "application/octet-stream", blobs.get(digest), digest);
                    return;
                }
            }
            reply(x, 404, "application/json", "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}"
                    .getBytes(StandardCharsets.UTF_8), null);
        }
    }

    private static void reply(HttpExchange x, int status, String type, byte[] body, String digest) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        if (digest != null) {
            x.getResponseHeaders().set("Docker-Content-Digest", digest);
        }
        if (x.getRequestMethod().equals("HEAD")) {
            x.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
