package io.berth.agent.image;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.berth.agent.image.registry.Platform;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A registry of one image for the agent's AOT training run (the build, not a node): the
 * distribution API's reads only ({@code /v2/}, a manifest by tag or digest, GET and HEAD, blobs),
 * on 127.0.0.1, serving a synthetic single-layer image made in memory ({@link WarmUpLayer}). The
 * training pulls it again and again through the agent's socket, so that the method profiles the
 * AOT cache keeps (JEP 515) are those of many pulls: measured, a fresh agent's JIT then settles
 * after about 20 cold pulls instead of about 150.
 */
public final class TrainingRegistry implements AutoCloseable {
    /** The repository and tag it serves: {@code 127.0.0.1:PORT/training/image:1}. */
    public static final String REPOSITORY = "training/image";
    private static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

    private final HttpServer server;
    private final ExecutorService threads;
    private final Map<String, byte[]> blobs;
    private final byte[] manifest;
    private final String manifestDigest;

    private TrainingRegistry(HttpServer server, ExecutorService threads, Map<String, byte[]> blobs, byte[] manifest,
            String manifestDigest) {
        this.server = server;
        this.threads = threads;
        this.blobs = blobs;
        this.manifest = manifest;
        this.manifestDigest = manifestDigest;
    }

    /** Serves an image whose one layer is {@code layerBytes} of tar (gzip'd) on a free loopback port. */
    public static TrainingRegistry start(int layerBytes) throws IOException {
        var tarDigest = Digest.messageDigest("sha256");
        byte[] layer = WarmUpLayer.gzip(layerBytes, tarDigest);
        Digest diffId = Digest.of("sha256", tarDigest);
        Platform host = Platform.host();
        byte[] config = ("{\"architecture\":\"" + host.architecture() + "\",\"os\":\"" + host.os()
                + "\",\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
                + diffId + "\"]}}").getBytes(StandardCharsets.UTF_8);
        String configDigest = Digest.sha256(config).toString();
        String layerDigest = Digest.sha256(layer).toString();
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + MANIFEST_TYPE + "\",\"config\":{\"mediaType\":"
                + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest + "\",\"size\":"
                + config.length + "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                + "\"digest\":\"" + layerDigest + "\",\"size\":" + layer.length + "}]}")
                .getBytes(StandardCharsets.UTF_8);
        var server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        var threads = Executors.newFixedThreadPool(4);
        server.setExecutor(threads);
        var registry = new TrainingRegistry(server, threads, Map.of(configDigest, config, layerDigest, layer), manifest,
                Digest.sha256(manifest).toString());
        server.createContext("/v2/", registry::handle);
        server.start();
        return registry;
    }

    /** The image's reference by tag. */
    public String reference() {
        return "127.0.0.1:" + server.getAddress().getPort() + "/" + REPOSITORY + ":1";
    }

    /** The image's reference by its manifest's digest. */
    public String referenceByDigest() {
        return "127.0.0.1:" + server.getAddress().getPort() + "/" + REPOSITORY + "@" + manifestDigest;
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            String manifests = "/v2/" + REPOSITORY + "/manifests/";
            String blobPrefix = "/v2/" + REPOSITORY + "/blobs/";
            if (path.equals("/v2/")) {
                reply(x, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8), null);
            } else if (path.startsWith(manifests) && (path.endsWith("/1") || path.endsWith("/" + manifestDigest))) {
                reply(x, 200, MANIFEST_TYPE, manifest, manifestDigest);
            } else if (path.startsWith(blobPrefix) && blobs.containsKey(path.substring(blobPrefix.length()))) {
                String digest = path.substring(blobPrefix.length());
                reply(x, 200, "application/octet-stream", blobs.get(digest), digest);
            } else {
                reply(x, 404, "application/json", "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}"
                        .getBytes(StandardCharsets.UTF_8), null);
            }
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
