package io.berth.agent.image.archive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.BerthException.Kind;
import io.berth.agent.image.Digest;
import io.berth.agent.image.Image;
import io.berth.agent.image.ImagePuller;
import io.berth.agent.image.ImageRef;
import io.berth.agent.image.registry.Manifests;
import io.berth.agent.image.registry.MediaTypes;
import io.berth.agent.image.registry.Platform;
import io.berth.agent.image.unpack.Decompress;
import io.berth.agent.image.unpack.TarReader;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code berth images import FILE}: loads images from an archive without a registry, for
 * air-gapped nodes. Two formats, recognised by their contents:
 * <ul>
 *   <li>an OCI image layout in a tar (OCI image-spec image-layout.md: {@code oci-layout},
 *       {@code index.json}, {@code blobs/ALG/HEX}); each index entry is imported, named by its
 *       {@code io.containerd.image.name} or a fully qualified {@code org.opencontainers.image.ref.name}
 *       annotation, multi-arch entries resolved to this machine's platform;</li>
 *   <li>a {@code docker save} tar ({@code manifest.json} with Config, RepoTags, Layers).</li>
 * </ul>
 * The archive may itself be gzip- or zstd-compressed. Everything goes through the same verifying
 * ingest as a pull: digests, diff_ids, and the layer unpacker's escape checks.
 */
public final class ImageImporter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ImagePuller puller;
    private final Platform platform;

    public ImageImporter(ImagePuller puller, Platform platform) {
        this.puller = puller;
        this.platform = platform;
    }

    public List<Image> importArchive(Path archive) throws IOException {
        Path work = Files.createTempDirectory(puller.store().root().resolve("ingest"), "import-");
        try {
            extract(archive, work);
            if (Files.isRegularFile(work.resolve("index.json")) && Files.isDirectory(work.resolve("blobs"))) {
                return importOciLayout(archive, work);
            }
            if (Files.isRegularFile(work.resolve("manifest.json"))) {
                return importDockerSave(archive, work);
            }
            throw BerthException.invalid(archive + " is neither an OCI image layout (index.json, blobs/) nor a "
                    + "docker save archive (manifest.json)");
        } finally {
            try (Stream<Path> s = Files.walk(work)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Regular files and directories only; names obey the same rules as layer entries. */
    private static void extract(Path archive, Path into) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(archive), 1 << 16)) {
            var tar = new TarReader(Decompress.open((BufferedInputStream) raw));
            for (TarReader.Entry e = tar.next(); e != null; e = tar.next()) {
                String name = e.name();
                if (name.startsWith("/") || List.of(name.split("/")).contains("..")) {
                    throw BerthException.invalid("archive " + archive + ": entry '" + name + "' leaves the archive");
                }
                Path target = into.resolve(name).normalize();
                if (e.type() == TarReader.DIRECTORY) {
                    Files.createDirectories(target);
                } else if (e.isRegular()) {
                    Files.createDirectories(target.getParent());
                    try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW)) {
                        tar.content().transferTo(out);
                    }
                } else if (e.type() == TarReader.SYMLINK || e.type() == TarReader.HARDLINK) {
                    // docker save links identical layers; resolve within the archive only.
                    String link = e.type() == TarReader.SYMLINK ? target.getParent().resolve(e.linkName()).normalize()
                            .toString() : into.resolve(e.linkName()).normalize().toString();
                    Path source = Path.of(link);
                    if (!source.startsWith(into) || !Files.isRegularFile(source)) {
                        throw BerthException.invalid("archive " + archive + ": link '" + name + "' -> '"
                                + e.linkName() + "' does not name a file in the archive");
                    }
                    Files.createDirectories(target.getParent());
                    Files.copy(source, target);
                }
            }
        }
    }

    private List<Image> importOciLayout(Path archive, Path layout) throws IOException {
        JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
        var images = new ArrayList<Image>();
        ImagePuller.Source source = blobSource(layout, Map.of());
        for (JsonNode entry : index.path("manifests")) {
            Digest top = Digest.parse(entry.path("digest").asText());
            byte[] topBytes = read(layout, top, entry.path("size").asLong(-1));
            String name = entry.path("annotations").path("io.containerd.image.name").asText(
                    entry.path("annotations").path("org.opencontainers.image.ref.name").asText(""));
            ImageRef ref = name.isEmpty() || !name.contains("/") && !name.contains(":")
                    ? null : ImageRef.parse(name);
            String what = "manifest " + top + " in " + archive;
            String kind = Manifests.kind(topBytes, entry.path("mediaType").asText(""), what);
            Digest manifestDigest = top;
            byte[] manifestBytes = topBytes;
            if (MediaTypes.isIndex(kind)) {
                var chosen = Manifests.choose(Manifests.indexEntries(topBytes, what), platform)
                        .orElseThrow(() -> new BerthException(Kind.NOT_FOUND, what + " has no manifest for "
                                + platform));
                manifestDigest = chosen.digest();
                manifestBytes = read(layout, chosen.digest(), chosen.size());
            }
            ImageRef display = ref != null ? ref : new ImageRef("import", "unnamed", null, top);
            images.add(puller.ingest(display, ref == null ? null : ref.repoTag(),
                    ref == null ? null : ref.repoDigest(top), top, topBytes, manifestDigest, manifestBytes, source));
        }
        return images;
    }

    /**
     * docker save: each manifest.json entry names a config file and uncompressed layer tars. A
     * Docker schema 2 manifest is made for them (the archive has none), so the image goes through
     * the common ingest; its id, the config digest, is the same as docker's.
     */
    private List<Image> importDockerSave(Path archive, Path dir) throws IOException {
        JsonNode entries = JSON.readTree(dir.resolve("manifest.json").toFile());
        var images = new ArrayList<Image>();
        for (JsonNode entry : entries) {
            Path configFile = inside(dir, entry.path("Config").asText(), archive);
            byte[] config = Files.readAllBytes(configFile);
            Digest configDigest = Digest.sha256(config);
            var files = new HashMap<Digest, Path>();
            files.put(configDigest, configFile);
            ObjectNode manifest = JSON.createObjectNode();
            manifest.put("schemaVersion", 2);
            manifest.put("mediaType", MediaTypes.DOCKER_MANIFEST);
            ObjectNode cfg = manifest.putObject("config");
            cfg.put("mediaType", MediaTypes.DOCKER_CONFIG);
            cfg.put("size", config.length);
            cfg.put("digest", configDigest.toString());
            ArrayNode layers = manifest.putArray("layers");
            for (JsonNode l : entry.path("Layers")) {
                Path layer = inside(dir, l.asText(), archive);
                Digest d = hashFile(layer);
                files.put(d, layer);
                ObjectNode ld = layers.addObject();
                ld.put("mediaType", "application/vnd.docker.image.rootfs.diff.tar");
                ld.put("size", Files.size(layer));
                ld.put("digest", d.toString());
            }
            byte[] manifestBytes = JSON.writeValueAsBytes(manifest);
            Digest manifestDigest = Digest.sha256(manifestBytes);
            ImagePuller.Source source = blobSource(dir, files);
            List<String> tags = new ArrayList<>();
            entry.path("RepoTags").forEach(t -> tags.add(t.asText()));
            if (tags.isEmpty()) {
                images.add(puller.ingest(new ImageRef("import", "unnamed", null, configDigest), null, null,
                        manifestDigest, manifestBytes, manifestDigest, manifestBytes, source));
            }
            for (String tag : tags) {
                ImageRef ref = ImageRef.parse(tag);
                images.add(puller.ingest(ref, ref.repoTag(), null, manifestDigest, manifestBytes, manifestDigest,
                        manifestBytes, source));
            }
        }
        return images;
    }

    private static Path inside(Path dir, String name, Path archive) {
        Path p = dir.resolve(name).normalize();
        if (name.isEmpty() || !p.startsWith(dir) || !Files.isRegularFile(p)) {
            throw BerthException.invalid("archive " + archive + ": manifest.json names '" + name
                    + "', which is not a file in the archive");
        }
        return p;
    }

    private static ImagePuller.Source blobSource(Path dir, Map<Digest, Path> files) {
        return new ImagePuller.Source() {
            @Override
            public byte[] read(Digest digest, long size) throws IOException {
                return ImageImporter.read(dir, files.getOrDefault(digest, blob(dir, digest)), digest, size);
            }

            @Override
            public InputStream open(Digest digest, long size, java.security.MessageDigest hasher) throws IOException {
                Path p = files.getOrDefault(digest, blob(dir, digest));
                if (!Files.isRegularFile(p)) {
                    throw BerthException.invalid("blob " + digest + " is missing from the archive");
                }
                return new java.security.DigestInputStream(Files.newInputStream(p), hasher);
            }
        };
    }

    private static Path blob(Path layout, Digest d) {
        return layout.resolve("blobs").resolve(d.algorithm()).resolve(d.hex());
    }

    private static byte[] read(Path layout, Digest d, long size) throws IOException {
        return read(layout, blob(layout, d), d, size);
    }

    private static byte[] read(Path layout, Path p, Digest d, long size) throws IOException {
        if (!Files.isRegularFile(p)) {
            throw BerthException.invalid("blob " + d + " is missing from the archive");
        }
        byte[] b = Files.readAllBytes(p);
        var md = d.newHasher();
        md.update(b);
        if (!Digest.of(d.algorithm(), md).equals(d) || (size >= 0 && b.length != size)) {
            throw BerthException.invalid("blob " + d + " in the archive does not match its digest or size");
        }
        return b;
    }

    private static Digest hashFile(Path p) throws IOException {
        var md = Digest.messageDigest("sha256");
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) {
                md.update(buf, 0, r);
            }
        }
        return new Digest("sha256", HexFormat.of().formatHex(md.digest()));
    }
}
