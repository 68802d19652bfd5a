package io.berth.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.BerthException.Kind;
import io.berth.agent.image.registry.Credentials;
import io.berth.agent.image.registry.Manifests;
import io.berth.agent.image.registry.Manifests.Descriptor;
import io.berth.agent.image.registry.MediaTypes;
import io.berth.agent.image.registry.Platform;
import io.berth.agent.image.registry.RegistryClient;
import io.berth.agent.image.unpack.Decompress;
import io.berth.agent.image.unpack.LayerUnpacker;
import io.berth.agent.image.unpack.ReadAheadStage;
import io.berth.agent.image.unpack.TimedInputStream;
import io.berth.agent.image.unpack.VerifyingInputStream;
import io.berth.agent.log.Log;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * Pulls images into the {@link ImageStore}. A pull is a list of named steps:
 *
 * <pre>
 *   resolve  ─▶ platform ─┬▶ config ──────────────────────────────────────────────────────┬▶ record
 *      │                  └▶ layers (concurrent, each: download ▸ unpack ▸ verify ▸ commit) ┘
 *      │ (tag already here: HEAD digest known)  │ (image already here)
 *      └─────────────────────▶ record names ◀───┘
 * </pre>
 *
 * A layer's download does not wait for the config unless a layer here was unpacked from the same
 * blob (it may be reusable, which takes the config's chain ids to tell); its check against the
 * config's diff_id and its commit do.
 *
 * Concurrent pulls of one image share one pull (a single flight keyed by reference and
 * credentials); layers are shared across pulls of different images by chain id; downloads across
 * all pulls are limited to {@code max_concurrent_downloads}.
 */
public final class ImagePuller {
    private static final Log LOG = Log.get(ImagePuller.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Image configs are a few KiB; 8 MiB is far beyond any real one and bounds what we read. */
    static final long MAX_CONFIG_BYTES = 8 << 20;

    private final ImageStore store;
    private final RegistryClient client;
    private final Semaphore downloads;
    private final PullMetrics metrics;
    private final Platform platform;
    private final LayerUnpacker unpacker;
    private final Map<String, CompletableFuture<Image>> pulls = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Void>> layers = new ConcurrentHashMap<>();

    public ImagePuller(ImageStore store, RegistryClient client, int maxConcurrentDownloads, PullMetrics metrics,
            Platform platform) {
        this.store = store;
        this.client = client;
        this.downloads = new Semaphore(maxConcurrentDownloads, true);
        this.metrics = metrics;
        this.platform = platform;
        this.unpacker = new LayerUnpacker(LayerUnpacker.runningAsRoot());
    }

    /**
     * Readies the agent for its first pull, on CPU the node leaves over: the registry client
     * ({@link RegistryClient#warmUp}), then two unpacks of a synthetic 2 MiB gzip layer through the
     * real pipeline (blob digest, decompression on a stage thread, diff_id digest, tar, file
     * writes) into a work directory of the store that is then discarded. Measured before: a fresh
     * agent's first cold pull of a ~5 MB layer took 0.9-1.3 s, 0.7 s of it unpacking in code the
     * JIT had not compiled yet (SHA-256 is only fast compiled). Failures are logged, never thrown.
     */
    public void warmUp(String ownHttpHostPort) {
        long t0 = System.nanoTime();
        try {
            client.warmUp(ownHttpHostPort);
            byte[] layer = WarmUpLayer.gzip(2 << 20);
            for (int round = 0; round < 2; round++) {
                Path work = store.newLayerWork();
                try {
                    var blob = new VerifyingInputStream(new java.io.ByteArrayInputStream(layer),
                            Digest.messageDigest("sha256"), layer.length, null);
                    try (var stage = decompressing(blob, in -> in, "unpack warm-up")) {
                        var tar = new VerifyingInputStream(stage, Digest.messageDigest("sha256"), -1, null);
                        unpacker.unpack(tar, work.resolve("diff"), LayerUnpacker.Lowers.NONE);
                        tar.finish();
                    }
                    blob.finish();
                } finally {
                    store.discardWork(work);
                }
            }
            LOG.debug("image pulls warmed up", "ms", (System.nanoTime() - t0) / 1e6);
        } catch (IOException | RuntimeException e) {
            LOG.debug("image pull warm-up did not finish", "error", e.toString());
        }
    }

    public ImageStore store() {
        return store;
    }

    /**
     * Pulls {@code reference} (any form kubelet sends) and returns the image. A pull of the same
     * reference with the same credentials already in flight is joined, not repeated.
     */
    public Image pull(String reference, Credentials credentials, String serverAddress) {
        ImageRef ref = ImageRef.parse(reference);
        String key = ref + "|" + (credentials == null ? "" : credentials.username() + "|"
                + Integer.toHexString(credentials.hashCode()));
        var mine = new CompletableFuture<Image>();
        CompletableFuture<Image> running = pulls.putIfAbsent(key, mine);
        if (running != null) {
            LOG.debug("joining a pull in flight", "image", ref);
            Image image = join(running);
            metrics.pulls.labels("shared").inc();
            return image;
        }
        long start = System.nanoTime();
        try {
            Image image = doPull(ref, credentials, serverAddress);
            mine.complete(image);
            metrics.duration.observe((System.nanoTime() - start) / 1e9);
            return image;
        } catch (RuntimeException e) {
            metrics.pulls.labels("failed").inc();
            LOG.info("pull failed", "image", ref, "error", e.getMessage());
            mine.completeExceptionally(e);
            throw e;
        } finally {
            pulls.remove(key, mine);
        }
    }

    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new BerthException(Kind.INTERNAL, e.getCause().toString(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BerthException(Kind.UNAVAILABLE, "interrupted while waiting for a pull", e);
        }
    }

    private Image doPull(ImageRef ref, Credentials credentials, String serverAddress) {
        long t0 = System.nanoTime();
        // Step 1, resolve: what the reference points at now. An image we hold under that digest
        // needs nothing more than its names recorded. A digest names its content for good, so an
        // image present by digest needs no registry at all, not even a session (kubelet's
        // PullImage of an image it already has); a tag may have moved, so it costs one HEAD of the
        // manifest, as containerd's resolver does. A tag we do not hold at all goes straight to the
        // GET: a HEAD first would only add a round trip (an image present under another name is
        // still found, by its id).
        Optional<Image> present = ref.digest() != null ? present(ref, ref.digest(), t0) : Optional.empty();
        if (present.isPresent()) {
            return present.get();
        }
        RegistryClient.Session session = client.session(ref, credentials, serverAddress);
        Optional<Digest> headed = ref.digest() == null && store.hasTag(ref.repoTag())
                ? session.headDigest(ref.tag()) : Optional.empty();
        present = headed.flatMap(d -> present(ref, d, t0));
        if (present.isPresent()) {
            return present.get();
        }
        long tResolved = System.nanoTime();
        RegistryClient.Manifest top = session.manifest(ref.manifestReference());
        if (headed.isPresent() && !headed.get().equals(top.digest())) {
            LOG.debug("tag moved between HEAD and GET", "image", ref);
        }

        // Step 2, platform: an index or manifest list names one manifest per platform.
        String what = "manifest " + top.digest() + " of " + ref;
        String kind = Manifests.kind(top.bytes(), top.mediaType(), what);
        RegistryClient.Manifest manifest = top;
        if (MediaTypes.isIndex(kind)) {
            Descriptor chosen = Manifests.choose(Manifests.indexEntries(top.bytes(), what), platform)
                    .orElseThrow(() -> new BerthException(Kind.NOT_FOUND, "image " + ref + " has no manifest for "
                            + platform + " in its index " + top.digest()));
            manifest = session.manifest(chosen.digest().toString());
            if (manifest.bytes().length != chosen.size()) {
                throw new BerthException(Kind.INVALID_ARGUMENT, "manifest " + chosen.digest() + " of " + ref
                        + " is " + manifest.bytes().length + " bytes but the index says " + chosen.size());
            }
            String k = Manifests.kind(manifest.bytes(), manifest.mediaType(), "manifest " + chosen.digest());
            if (!MediaTypes.isManifest(k)) {
                throw new BerthException(Kind.INVALID_ARGUMENT, "index " + top.digest() + " of " + ref
                        + " points at another index for " + platform);
            }
        }
        Source source = new Source() {
            @Override
            public byte[] read(Digest digest, long size) {
                return session.smallBlob(digest, size, MAX_CONFIG_BYTES);
            }

            @Override
            public InputStream open(Digest digest, long size, MessageDigest hasher) {
                return session.openBlob(digest, size, hasher);
            }

            @Override
            public String origin(Digest digest) {
                return session.blobOrigin(digest);
            }

            @Override
            public boolean rejectOrigin(Digest digest) {
                return session.rejectBlobOrigin(digest);
            }
        };
        long tManifest = System.nanoTime();
        Image image = ingest(ref, top.digest(), top.bytes(), manifest.digest(), manifest.bytes(), source);
        LOG.info("image pulled", "image", ref, "id", image.id(), "size", image.size(),
                "ms", (System.nanoTime() - t0) / 1e6, "resolve_ms", (tResolved - t0) / 1e6,
                "manifest_ms", (tManifest - tResolved) / 1e6);
        return image;
    }

    /** Where blobs come from: a registry session, or an archive on disk. */
    public interface Source {
        byte[] read(Digest digest, long size) throws IOException;

        /**
         * Opens a blob for streaming, with {@code hasher} updated with every byte the stream gives,
         * in order, by the time the reader sees the end (a registry hashes on its HTTP client's
         * thread, off the reader's).
         */
        InputStream open(Digest digest, long size, MessageDigest hasher) throws IOException;

        /** Where the last {@link #open} of this blob came from, for the log. */
        default String origin(Digest digest) {
            return "";
        }

        /**
         * The last {@link #open} of {@code digest} gave bytes that do not match it: do not use that
         * origin for this blob again. True when another origin remains to be tried.
         */
        default boolean rejectOrigin(Digest digest) {
            return false;
        }
    }

    /** The image held under {@code digest} (the one {@code ref} points at), its names recorded. */
    private Optional<Image> present(ImageRef ref, Digest digest, long t0) {
        Optional<Image> present = store.findByDigest(ref.name(), digest);
        if (present.isEmpty()) {
            return present;
        }
        Image image = recordNames(present.get(), ref, digest);
        metrics.pulls.labels("present").inc();
        LOG.debug("image already present", "image", ref, "id", image.id(), "ms", (System.nanoTime() - t0) / 1e6);
        return Optional.of(image);
    }

    private Image recordNames(Image image, ImageRef ref, Digest topDigest) {
        try {
            return store.commit(image.id(), ref.repoTag(), ref.repoDigest(topDigest), image.size(),
                    topDigest.toString(), image.manifestDigest(), image.chainIds());
        } catch (IOException e) {
            throw new BerthException(Kind.INTERNAL, "record image " + image.id() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Steps 3 to 5 for a resolved platform manifest, whatever its source: config, layers, record.
     * {@code ref} may have no tag (an import of an untagged image) and is then recorded by digest.
     */
    public Image ingest(ImageRef ref, Digest topDigest, byte[] topBytes, Digest manifestDigest, byte[] manifestBytes,
            Source source) {
        return ingest(ref, ref.repoTag(), ref.repoDigest(topDigest), topDigest, topBytes, manifestDigest, manifestBytes,
                source);
    }

    /**
     * As {@link #ingest(ImageRef, Digest, byte[], Digest, byte[], Source)} with explicit names: an
     * import may have no tag, and a {@code docker save} archive has no registry digest.
     */
    public Image ingest(ImageRef ref, String repoTag, String repoDigest, Digest topDigest, byte[] topBytes,
            Digest manifestDigest, byte[] manifestBytes, Source source) {
        String what = "manifest " + manifestDigest + " of " + ref;
        Manifests.ImageManifest m = Manifests.imageManifest(manifestBytes, what);

        // The config's digest is the image id: an image already here needs its names recorded only.
        String id = m.config().digest().toString();
        Optional<Image> present = store.find(id);
        if (present.isPresent() && present.get().chainIds().stream().allMatch(store::hasLayer)) {
            storeBlobs(ref, topDigest, topBytes, manifestDigest, manifestBytes, null, null);
            metrics.pulls.labels("present").inc();
            try {
                return store.commit(present.get().id(), repoTag, repoDigest, present.get().size(),
                        topDigest.toString(), present.get().manifestDigest(), present.get().chainIds());
            } catch (IOException e) {
                throw new BerthException(Kind.INTERNAL, "record image " + id + ": " + e.getMessage(), e);
            }
        }
        // Step 3, config, fetched while the layers download (step 4). Its diff_ids name the
        // uncompressed layers and so the chain ids that key the layer directories, but a layer never
        // unpacked here can be downloaded and unpacked into its work directory without them: only
        // its check against its diff_id and its commit wait for the config (see layer()). Pinned, so
        // no GC takes what the pull will reference meanwhile (the chain ids once the config is in).
        // The manifests and the config (verified, in memory) are written to the store meanwhile:
        // they need not wait for the layers. Removed again if the pull fails.
        long t0 = System.nanoTime();
        var blobPins = List.of(topDigest.toString(), manifestDigest.toString(), id);
        store.pin(blobPins);
        CompletableFuture<ConfigFacts> config = CompletableFuture.supplyAsync(() -> readConfig(ref, id, m, source),
                BLOB_WRITERS);
        CompletableFuture<Void> blobs = config.thenAcceptAsync(c -> storeBlobs(ref, topDigest, topBytes,
                manifestDigest, manifestBytes, m.config().digest(), c.bytes()), BLOB_WRITERS);
        boolean recorded = false;
        try {
            var progress = new Progress(ref.toString());
            long size = m.config().size() + m.layers().stream().mapToLong(Descriptor::size).sum();
            int fetched;
            try {
                fetched = fetchLayers(ref, m, config, source, progress);
            } finally {
                blobs.exceptionally(e -> null).join(); // never leave a writer behind, whatever happened
            }

            // Step 5, record: blobs first (done above), then the record that makes the image visible.
            long t2 = System.nanoTime();
            ConfigFacts c = join(config);
            join(blobs);
            metrics.pulls.labels(fetched == 0 ? "present" : "pulled").inc();
            long t3 = System.nanoTime();
            Image image = store.commit(id, repoTag, repoDigest, size, topDigest.toString(),
                    manifestDigest.toString(), c.chainIds());
            recorded = true;
            LOG.debug("image recorded", "image", ref, "config_ms", (c.readNanos() - t0) / 1e6,
                    "layers_ms", (t2 - t0) / 1e6, "blobs_wait_ms", (t3 - t2) / 1e6,
                    "record_ms", (System.nanoTime() - t3) / 1e6);
            return image;
        } catch (IOException e) {
            throw new BerthException(Kind.INTERNAL, "record image " + id + " of " + ref + ": " + e.getMessage(), e);
        } finally {
            store.unpin(blobPins);
            ConfigFacts c = config.exceptionally(e -> null).join(); // done by now: every layer waited for it
            if (c != null) {
                store.unpin(c.chainIds());
            }
            if (!recorded) {
                // A failed pull leaves the store as it was: the blobs it wrote go unless something uses them.
                store.dropUnusedBlobs(List.of(topDigest, manifestDigest, m.config().digest()));
            }
        }
    }

    /** The config of a pull once it is in, checked against the manifest; its chain ids are pinned. */
    private record ConfigFacts(byte[] bytes, List<Digest> diffIds, List<String> chainIds, long readNanos) {
    }

    private ConfigFacts readConfig(ImageRef ref, String id, Manifests.ImageManifest m, Source source) {
        byte[] configBytes;
        try {
            configBytes = source.read(m.config().digest(), m.config().size());
        } catch (IOException e) {
            throw new BerthException(Kind.UNAVAILABLE, "config " + id + " of " + ref + ": " + e.getMessage(), e);
        }
        List<Digest> diffIds = diffIds(ref, id, configBytes);
        if (diffIds.size() != m.layers().size()) {
            throw new BerthException(Kind.INVALID_ARGUMENT, "image " + ref + ": config " + id + " lists "
                    + diffIds.size() + " diff_ids for " + m.layers().size() + " layers");
        }
        List<String> chainIds = chainIds(diffIds);
        store.pin(chainIds);
        return new ConfigFacts(configBytes, diffIds, chainIds, System.nanoTime());
    }

    /** Fetches configs and writes the small blobs of pulls: waiting, not computing, so virtual threads do. */
    private static final java.util.concurrent.Executor BLOB_WRITERS = Executors.newVirtualThreadPerTaskExecutor();

    private void storeBlobs(ImageRef ref, Digest topDigest, byte[] topBytes, Digest manifestDigest,
            byte[] manifestBytes, Digest configDigest, byte[] configBytes) {
        try {
            store.putBlob(topDigest, topBytes);
            store.putBlob(manifestDigest, manifestBytes);
            if (configDigest != null) {
                store.putBlob(configDigest, configBytes);
            }
        } catch (IOException e) {
            throw new BerthException(Kind.INTERNAL, "store blobs of " + ref + ": " + e.getMessage(), e);
        }
    }

    private static List<Digest> diffIds(ImageRef ref, String id, byte[] config) {
        JsonNode root;
        try {
            root = JSON.readTree(config);
        } catch (IOException e) {
            throw new BerthException(Kind.INVALID_ARGUMENT, "config " + id + " of " + ref + " is not valid JSON: "
                    + e.getMessage());
        }
        JsonNode ids = root.path("rootfs").path("diff_ids");
        if (!ids.isArray()) {
            throw new BerthException(Kind.INVALID_ARGUMENT, "config " + id + " of " + ref + " has no rootfs.diff_ids");
        }
        var out = new ArrayList<Digest>();
        for (JsonNode d : ids) {
            try {
                out.add(Digest.parse(d.asText()));
            } catch (BerthException e) {
                throw new BerthException(Kind.INVALID_ARGUMENT, "config " + id + " of " + ref + ": " + e.getMessage());
            }
        }
        return out;
    }

    /**
     * OCI image-spec config.md, "Layer ChainID": ChainID(L0) = DiffID(L0), ChainID(L0|...|Ln) =
     * sha256(ChainID(L0|...|Ln-1) + " " + DiffID(Ln)). A layer directory is keyed by it, so
     * identical stacks share their directories.
     */
    public static List<String> chainIds(List<Digest> diffIds) {
        var out = new ArrayList<String>();
        String chain = null;
        for (Digest d : diffIds) {
            chain = chain == null ? d.toString()
                    : Digest.sha256((chain + " " + d).getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
            out.add(chain);
        }
        return out;
    }

    /**
     * A thread per layer being pulled (at most max_concurrent_downloads of them download at once),
     * kept for the next pull rather than started anew. Platform threads: hashing, tar parsing and
     * writing are CPU-bound, and virtual threads are not time-sliced, so a stage waking up would
     * wait for a carrier behind them. The OS schedules these fairly.
     */
    private static final ExecutorService LAYER_THREADS = Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon().name("layer-", 0).factory());

    /** Step 4 for every layer of {@code m}; returns how many this pull had to download (or wait for). */
    private int fetchLayers(ImageRef ref, Manifests.ImageManifest m, CompletableFuture<ConfigFacts> config,
            Source source, Progress progress) {
        metrics.inProgress.inc();
        var fetched = new java.util.concurrent.atomic.AtomicInteger();
        try {
            // Each layer's completion, so that a layer can wait for the ones below it when an entry's
            // parent has to be resolved in the merged view (a lower symlink; see LayerUnpacker).
            var done = new ArrayList<CompletableFuture<Void>>();
            for (int i = 0; i < m.layers().size(); i++) {
                done.add(new CompletableFuture<>());
            }
            var futures = new ArrayList<Future<?>>();
            for (int i = 0; i < m.layers().size(); i++) {
                int index = i;
                LayerUnpacker.Lowers lowers = () -> lowerDirs(ref, config, done, index);
                futures.add(LAYER_THREADS.submit(() -> {
                    try {
                        if (layer(ref, m, index, config, source, progress, lowers)) {
                            fetched.incrementAndGet();
                        }
                        done.get(index).complete(null);
                    } catch (RuntimeException e) {
                        done.get(index).completeExceptionally(e);
                        throw e;
                    }
                    return null;
                }));
            }
            RuntimeException first = null;
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    RuntimeException r = e.getCause() instanceof RuntimeException re ? re
                            : new BerthException(Kind.INTERNAL, e.getCause().toString(), e.getCause());
                    if (first == null) {
                        first = r;
                    } else if (r != first) {
                        first.addSuppressed(r);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new BerthException(Kind.UNAVAILABLE, "pull of " + ref + " interrupted", e);
                }
            }
            if (first != null) {
                // A config that failed is the pull's error, as when it was fetched before the layers:
                // the layers that needed it failed with it, those downloading ahead of it were stopped.
                config.exceptionally(e -> null).join();
                if (config.isCompletedExceptionally()) {
                    join(config);
                }
                throw first;
            }
        } finally {
            metrics.inProgress.dec();
            metrics.expectedBytes.remove(progress.image);
            metrics.progressBytes.remove(progress.image);
        }
        if (fetched.get() > 0) {
            LOG.info("pull progress", "image", ref, "done_bytes", progress.done.get(), "total_bytes",
                    progress.total.get(), "percent", 100);
        }
        return fetched.get();
    }

    /** The config's facts, waiting for them: the config's own error if it failed. */
    private static ConfigFacts awaitConfig(CompletableFuture<ConfigFacts> config) {
        return join(config);
    }

    /**
     * Layer {@code i} of a pull: reused when it is here, otherwise downloaded once however many
     * pulls want it (true: this pull downloaded it or waited for another's download). Whether it
     * is here takes the config (chain ids), except for a blob that no layer here was unpacked from:
     * such a layer cannot be here (short of the same content compressed otherwise, which then
     * merely unpacks twice; the second commit is dropped), so its download starts at once, before
     * the config is in.
     */
    private boolean layer(ImageRef ref, Manifests.ImageManifest m, int i, CompletableFuture<ConfigFacts> config,
            Source source, Progress progress, LayerUnpacker.Lowers lowers) {
        Descriptor layer = m.layers().get(i);
        if ((config.isDone() || store.unpackedFrom(layer.digest()))
                && store.hasLayer(awaitConfig(config).chainIds().get(i))) {
            metrics.layersReused.inc();
            return false;
        }
        progress.expect(layer.size());
        // In flight under its blob and the blobs below it, which give its chain id before the config
        // does: pulls of one image (by tag and by digest, say) and of images on the same base share it.
        String key = flightKey(m, i);
        var mine = new CompletableFuture<Void>();
        CompletableFuture<Void> running = layers.putIfAbsent(key, mine);
        if (running != null) {
            join(running);
            // Same blobs, same content, same chain id, unless this pull's config disagrees with the
            // content: then it checks the content against its own config, and fails as it should.
            if (!store.hasLayer(awaitConfig(config).chainIds().get(i))) {
                fetchLayer(ref, layer, i, config, source, progress, lowers);
            }
            return true;
        }
        try {
            fetchLayer(ref, layer, i, config, source, progress, lowers);
            mine.complete(null);
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            layers.remove(key, mine);
        }
        return true;
    }

    /** The digests of layer {@code i}'s blob and of those below it, hashed: what keys its download in flight. */
    private static String flightKey(Manifests.ImageManifest m, int i) {
        var s = new StringBuilder();
        for (int j = 0; j <= i; j++) {
            s.append(m.layers().get(j).digest()).append(' ');
        }
        return Digest.sha256(s.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
    }

    /** The unpacked layers below layer {@code i}, topmost first, once they and the config are in. */
    private List<Path> lowerDirs(ImageRef ref, CompletableFuture<ConfigFacts> config,
            List<CompletableFuture<Void>> done, int i) throws IOException {
        var dirs = new ArrayList<Path>();
        for (int j = i - 1; j >= 0; j--) {
            try {
                done.get(j).get();
            } catch (ExecutionException e) {
                throw new IOException("layer " + (j + 1) + " of " + ref + ", below this one, failed: "
                        + e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted waiting for the layers below");
            }
        }
        // The layers below are done, and each waited for the config; it is in (or failed).
        List<String> chainIds;
        try {
            chainIds = awaitConfig(config).chainIds();
        } catch (RuntimeException e) {
            throw new IOException("config of " + ref + " failed: " + e.getMessage(), e);
        }
        for (int j = i - 1; j >= 0; j--) {
            dirs.add(store.layerDir(chainIds.get(j)));
        }
        return dirs;
    }

    /**
     * Download ▸ verify ▸ unpack ▸ commit, streaming: the blob is decompressed and unpacked into a
     * work directory as it arrives, hashed twice on the way (compressed: the descriptor's digest;
     * uncompressed: the config's diff_id). The work directory becomes the layer only when both
     * match, so a bad blob leaves the store as it was. A mirror that served bytes that do not match
     * the digest is passed over for this blob and the next endpoint is tried (containerd's
     * fetcher does the same: a mirror is a cache, the digest is the truth).
     */
    private void fetchLayer(ImageRef ref, Descriptor layer, int i, CompletableFuture<ConfigFacts> config,
            Source source, Progress progress, LayerUnpacker.Lowers lowers) {
        while (true) {
            if (config.isDone() && !config.isCompletedExceptionally()
                    && store.hasLayer(config.join().chainIds().get(i))) {
                return; // another pull committed it meanwhile
            }
            try {
                fetchLayerOnce(ref, layer, i, config, source, progress, lowers);
                return;
            } catch (BadBlob bad) {
                String from = source.origin(layer.digest());
                if (!source.rejectOrigin(layer.digest())) {
                    throw bad.error;
                }
                LOG.warn("endpoint served a bad blob; trying the next endpoint", "image", ref, "layer",
                        layer.digest(), "endpoint", from, "error", bad.error.getMessage());
            } catch (OtherDiffAlgorithm again) {
                // Hashed as sha256 ahead of the config, which names a sha512 diff_id: once more, knowing it.
                LOG.debug("layer hashed with the wrong algorithm ahead of its config; fetching again",
                        "image", ref, "layer", layer.digest());
            }
        }
    }

    /** A layer downloaded ahead of its config was hashed with another algorithm than its diff_id's. */
    private static final class OtherDiffAlgorithm extends RuntimeException {
        OtherDiffAlgorithm() {
            super(null, null, false, false);
        }
    }

    /** The blob's own bytes were not the ones its digest names: another endpoint may have them right. */
    private static final class BadBlob extends RuntimeException {
        final BerthException error;

        BadBlob(BerthException error) {
            super(error.getMessage(), null, false, false);
            this.error = error;
        }
    }

    private void fetchLayerOnce(ImageRef ref, Descriptor layer, int i, CompletableFuture<ConfigFacts> config,
            Source source, Progress progress, LayerUnpacker.Lowers lowers) {
        String what = "layer " + layer.digest() + " of " + ref;
        // Ahead of the config, the tar is hashed with sha256, the algorithm of practically every
        // diff_id (docker, buildkit and containerd write nothing else); a sha512 one costs a refetch.
        boolean configIn = config.isDone() && !config.isCompletedExceptionally();
        String diffAlgorithm = configIn ? config.join().diffIds().get(i).algorithm() : "sha256";
        Path work;
        try {
            work = store.newLayerWork();
        } catch (IOException e) {
            throw new BerthException(Kind.INTERNAL, what + ": cannot create work dir: " + e.getMessage(), e);
        }
        boolean committed = false;
        downloads.acquireUninterruptibly();
        long t0 = System.nanoTime();
        MessageDigest blobHasher = layer.digest().newHasher();
        try (InputStream body = source.open(layer.digest(), layer.size(), blobHasher)) {
            long tOpen = System.nanoTime();
            // Three threads: the source hashes the blob as it arrives (the HTTP client's), the stage
            // decompresses, the caller's thread hashes the tar, parses it and writes the files.
            var net = new TimedInputStream(configIn ? body : new UntilConfigFails(body, config));
            var blob = new VerifyingInputStream(net, null, layer.size(), progress::add);
            var inflated = new TimedInputStream[1];
            IOException unpackFailure = null;
            byte[] diffHash = null;
            LayerUnpacker.Stats stats = null;
            var stage = decompressing(blob, in -> inflated[0] = new TimedInputStream(in), "unpack " + layer.digest().hex());
            var waited = new TimedInputStream(stage);
            try (stage) {
                var tar = new VerifyingInputStream(waited, Digest.messageDigest(diffAlgorithm), -1, null);
                // Waiting for the layers below gives up this download's slot meanwhile: they may
                // need it (with max_concurrent_downloads = 1, they would otherwise never start).
                LayerUnpacker.Lowers waitingLowers = () -> {
                    downloads.release();
                    try {
                        return lowers.dirs();
                    } finally {
                        downloads.acquireUninterruptibly();
                    }
                };
                stats = unpacker.unpack(tar, work.resolve("diff"), waitingLowers);
                diffHash = tar.finish();
            } catch (IOException e) {
                unpackFailure = e;
            }
            // The stage has stopped (closing it waits for its thread). The blob's own digest first:
            // when the bytes are not the promised ones, that is the cause of whatever the unpacker
            // saw, and the message should say so.
            byte[] blobHash;
            try {
                blob.finish(); // to the end: the count checked, every byte hashed by the source
                blobHash = blobHasher.digest();
            } catch (VerifyingInputStream.MismatchException e) {
                throw new BadBlob(new BerthException(Kind.INVALID_ARGUMENT, what + ": blob has " + e.getMessage()));
            }
            String got = HexFormat.of().formatHex(blobHash);
            if (!got.equals(layer.digest().hex())) {
                throw new BadBlob(new BerthException(Kind.INVALID_ARGUMENT, what + ": content does not match its "
                        + "digest (it hashes to " + layer.digest().algorithm() + ":" + got + ")"));
            }
            // The checks below take the config; if it failed, its error is the pull's (and whatever the
            // unpacker saw may only be the download stopped for it).
            ConfigFacts c = awaitConfig(config);
            Digest diffId = c.diffIds().get(i);
            String chainId = c.chainIds().get(i);
            if (unpackFailure != null) {
                throw new BerthException(Kind.INVALID_ARGUMENT, what + ": " + unpackFailure.getMessage(), unpackFailure);
            }
            if (!diffId.algorithm().equals(diffAlgorithm)) {
                throw new OtherDiffAlgorithm();
            }
            String gotDiff = HexFormat.of().formatHex(diffHash);
            if (!gotDiff.equals(diffId.hex())) {
                throw new BerthException(Kind.INVALID_ARGUMENT, what + ": uncompressed content hashes to "
                        + diffId.algorithm() + ":" + gotDiff + " but the config's diff_id is " + diffId);
            }
            long t1 = System.nanoTime();
            store.commitLayer(new ImageStore.LayerMeta(chainId, diffId.toString(), layer.digest().toString(),
                    layer.size(), stats.bytes()), work);
            committed = true;
            // Where the time went: the first byte; in the stage, network reads and decompression
            // (with the blob's hashing); on this thread, waiting for the stage and the rest (tar
            // parsing, hashing, file writes); then the rename (the syncfs is the store's syncer's).
            double inflateMs = inflated[0] == null ? 0 : inflated[0].millis() - net.millis();
            // The stage's first network reads (sniffing the format) come before the decoder's stream:
            // on a small layer the difference can dip below zero.
            double inflateCpuMs = inflated[0] == null ? 0 : Math.max(0, inflated[0].cpuMillis() - net.cpuMillis());
            metrics.decompressCpu.inc(inflateCpuMs / 1000);
            LOG.debug("layer unpacked", "image", ref, "layer", layer.digest(), "chain_id", chainId,
                    "bytes", layer.size(), "unpacked_bytes", stats.bytes(), "entries", stats.entries(),
                    "open_ms", (tOpen - t0) / 1e6, "net_ms", net.millis(), "decompress_ms", inflateMs,
                    "decompress_cpu_ms", inflateCpuMs,
                    "wait_ms", waited.millis(), "write_ms", (t1 - tOpen) / 1e6 - waited.millis(),
                    "unpack_ms", (t1 - t0) / 1e6, "commit_ms", (System.nanoTime() - t1) / 1e6);
        } catch (IOException e) {
            throw new BerthException(Kind.UNAVAILABLE, what + ": download failed: " + e.getMessage(), e);
        } finally {
            downloads.release();
            if (!committed) {
                store.discardWork(work);
            }
        }
    }

    /**
     * Hand-overs between the decompressing stage and the unpacker: 4 x 512 KiB ahead at most. Each
     * hand-over may wake the unpacker, which is usually waiting (decompression is the slower
     * side): with 256 KiB chunks, the stage's wall-clock profile showed a sixth of its time in
     * those wake-ups on a busy 2-core node.
     */
    private static final int STAGE_CHUNK = 512 * 1024;
    private static final int STAGE_CHUNKS = 4;

    /**
     * A layer blob's decompression on a stage thread of its own: reads of {@code blob},
     * decompressed as its first bytes say, {@code wrap} put around the decompressed stream, whose
     * bytes the caller hashes for the diff_id. The buffer is only for sniffing the format: the
     * decompressor's reads are larger, so they go to {@code blob} directly, not through a copy.
     */
    private static ReadAheadStage decompressing(InputStream blob, UnaryOperator<InputStream> wrap, String name) {
        var buffered = new BufferedInputStream(blob, 8 * 1024);
        return new ReadAheadStage(new LazyStream(() -> wrap.apply(Decompress.openDigested(buffered))), STAGE_CHUNK,
                STAGE_CHUNKS, name);
    }

    /** Opens its stream on first read, so that sniffing the compression happens on the stage's thread. */
    private static final class LazyStream extends InputStream {
        interface Opener {
            InputStream open() throws IOException;
        }

        private final Opener opener;
        private InputStream in;

        LazyStream(Opener opener) {
            this.opener = opener;
        }

        private InputStream in() throws IOException {
            if (in == null) {
                in = opener.open();
            }
            return in;
        }

        @Override
        public int read() throws IOException {
            return in().read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in().read(b, off, len);
        }
    }

    /**
     * A layer's download ahead of its config, stopped as soon as the config has failed: the pull
     * fails with the config's error anyway, and a large layer need not be fetched for nothing.
     */
    private static final class UntilConfigFails extends java.io.FilterInputStream {
        private final CompletableFuture<?> config;

        UntilConfigFails(InputStream in, CompletableFuture<?> config) {
            super(in);
            this.config = config;
        }

        private void check() throws IOException {
            if (config.isCompletedExceptionally()) {
                throw new IOException("download stopped: the image's config could not be had");
            }
        }

        @Override
        public int read() throws IOException {
            check();
            return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            check();
            return super.read(b, off, len);
        }
    }

    /** Bytes done out of bytes to do for one pull; logged at most every two seconds. */
    private final class Progress {
        final String image;
        final AtomicLong total = new AtomicLong();
        final AtomicLong done = new AtomicLong();
        final AtomicLong lastLog = new AtomicLong(System.nanoTime());

        Progress(String image) {
            this.image = image;
        }

        /** Adds a layer this pull downloads (or waits for) to the bytes to do. */
        void expect(long n) {
            metrics.expectedBytes.labels(image).set(total.addAndGet(n));
        }

        void add(long n) {
            long d = done.addAndGet(n);
            metrics.bytes.inc(n);
            metrics.progressBytes.labels(image).set(d);
            long now = System.nanoTime();
            long last = lastLog.get();
            if (now - last > 2_000_000_000L && lastLog.compareAndSet(last, now)) {
                long t = total.get();
                LOG.info("pull progress", "image", image, "done_bytes", d, "total_bytes", t,
                        "percent", t == 0 ? 0 : d * 100 / t);
            }
        }
    }
}
