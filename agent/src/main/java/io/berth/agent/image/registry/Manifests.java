package io.berth.agent.image.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.BerthException.Kind;
import io.berth.agent.image.Digest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Parsing of image manifests and indexes (OCI image-spec manifest.md, image-index.md; Docker
 * Image Manifest V2 Schema 2 and its manifest list), and the choice of a platform's manifest.
 */
public final class Manifests {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Manifests() {
    }

    /** A content descriptor (OCI image-spec descriptor.md). */
    public record Descriptor(String mediaType, Digest digest, long size, Platform platform) {
    }

    /** A platform manifest: its config and its layers, lowest first. */
    public record ImageManifest(Descriptor config, List<Descriptor> layers) {
    }

    /** What a manifest document is, by its mediaType field, else the Content-Type, else its shape. */
    public static String kind(byte[] bytes, String contentType, String what) {
        JsonNode root = parse(bytes, what);
        String t = root.path("mediaType").asText("");
        if (t.isEmpty()) {
            t = contentType == null ? "" : contentType;
        }
        if (t.isEmpty() || t.equals("application/json") || t.equals("text/plain")) {
            t = root.has("manifests") ? MediaTypes.OCI_INDEX : root.has("layers") ? MediaTypes.OCI_MANIFEST : t;
        }
        if (t.equals(MediaTypes.DOCKER_SCHEMA1) || t.equals(MediaTypes.DOCKER_SCHEMA1_SIGNED)
                || root.path("schemaVersion").asInt(2) == 1) {
            throw new BerthException(Kind.INVALID_ARGUMENT, what + " is a Docker schema 1 manifest, which is "
                    + "deprecated and not supported; push the image again with a current client");
        }
        if (!MediaTypes.isIndex(t) && !MediaTypes.isManifest(t)) {
            throw new BerthException(Kind.INVALID_ARGUMENT, what + " has unsupported media type '" + t + "'");
        }
        return t;
    }

    public static List<Descriptor> indexEntries(byte[] bytes, String what) {
        var out = new ArrayList<Descriptor>();
        for (JsonNode m : parse(bytes, what).path("manifests")) {
            out.add(descriptor(m, what));
        }
        return out;
    }

    public static ImageManifest imageManifest(byte[] bytes, String what) {
        JsonNode root = parse(bytes, what);
        if (!root.has("config") || !root.path("layers").isArray()) {
            throw new BerthException(Kind.INVALID_ARGUMENT, what + " has no config or no layers");
        }
        Descriptor config = descriptor(root.get("config"), what);
        var layers = new ArrayList<Descriptor>();
        for (JsonNode l : root.get("layers")) {
            Descriptor d = descriptor(l, what);
            if (!MediaTypes.isLayer(d.mediaType())) {
                throw new BerthException(Kind.INVALID_ARGUMENT, what + ": layer " + d.digest()
                        + " has media type '" + d.mediaType() + "', which is not an image layer");
            }
            layers.add(d);
        }
        return new ImageManifest(config, List.copyOf(layers));
    }

    /**
     * The manifest for {@code want} in an index: OS and architecture must match; among matching
     * variants the best one the host can run is chosen (the highest not above the host's, an entry
     * without a variant counting as the baseline), as containerd's platform matcher does.
     */
    public static Optional<Descriptor> choose(List<Descriptor> entries, Platform want) {
        return entries.stream()
                .filter(d -> d.platform() != null
                        && (d.mediaType().isEmpty() || MediaTypes.isManifest(d.mediaType())))
                .filter(d -> want.accepts(d.platform()))
                .max(Comparator.comparingInt(d -> want.variantRank(d.platform().variant())));
    }

    private static Descriptor descriptor(JsonNode n, String what) {
        String digest = n.path("digest").asText("");
        long size = n.path("size").asLong(-1);
        if (size < 0) {
            throw new BerthException(Kind.INVALID_ARGUMENT, what + ": descriptor " + digest + " has no size");
        }
        Digest d;
        try {
            d = Digest.parse(digest);
        } catch (BerthException e) {
            throw new BerthException(Kind.INVALID_ARGUMENT, what + ": " + e.getMessage());
        }
        JsonNode p = n.get("platform");
        Platform platform = p == null ? null : new Platform(p.path("os").asText(""),
                p.path("architecture").asText(""), p.path("variant").asText(""));
        return new Descriptor(n.path("mediaType").asText(""), d, size, platform);
    }

    private static JsonNode parse(byte[] bytes, String what) {
        try {
            JsonNode n = JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw new IOException("not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new BerthException(Kind.INVALID_ARGUMENT, what + " is not valid JSON: " + e.getMessage());
        }
    }
}
