package io.berth.agent.image;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.agent.domain.BerthException;
import io.berth.agent.log.Log;
import io.berth.agent.store.AtomicFiles;
import io.berth.kernel.BootId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The image store under {@code <state_dir>/images}: content-addressed blobs, unpacked layers
 * shared by chain id, the image records, and the leases that keep layers alive for containers.
 *
 * <pre>
 * images/
 *   index.json                 image records, leases, unsynced marks; replaced atomically (temp, fsync, rename)
 *   blobs/sha256/HEX           verified manifests, indexes and configs
 *   layers/CHAINHEX/diff/      one unpacked layer (an overlayfs lower dir), CHAINHEX/layer.json its facts
 *   layers/.work-*             layers being unpacked: never trusted, removed at start-up
 *   ingest/                    blobs being written: never trusted, removed at start-up
 * </pre>
 *
 * <h2>Durability</h2>
 * Nothing is visible under its final name until it has been verified, and no image record names a
 * layer or blob whose data may be lost without also saying so. Layers and blobs are renamed into
 * place <em>without</em> waiting for the disk (a syncfs took 28 of a 5 MB pull's ~120 ms); each is
 * marked <em>unsynced in boot B</em> (B: {@code /proc/sys/kernel/random/boot_id}) before its
 * rename, and the marks are written in index.json with the image record the pull writes anyway,
 * before the pull returns. One background {@link StoreSyncer} then runs syncfs on the store's
 * filesystem and clears every mark set before that syncfs started. At open, a mark from another
 * boot means the page cache the data lived in is gone and the files may be empty or short (ext4's
 * delayed allocation): the layer or blob is deleted with every image that uses it, with a warning,
 * and a later PullImage fetches them again. A mark from the current boot (the agent was killed,
 * the kernel was not) is fine: the data is in the page cache; the syncer takes it up again.
 * (containerd unpacks the same way without a sync and lost layer data to power failures,
 * containerd#5854; its fix is an opt-in syncfs on the pull's path, {@code image_pull_with_sync_fs},
 * containerd#9401: the cost this design moves off the path, keeping the guarantee.)
 *
 * <p>What a crash at each point leaves (kill -9: the process dies, the page cache survives;
 * power loss: both go):
 * <ol>
 *   <li>Unpacking into {@code layers/.work-*}, writing a blob into {@code ingest/}: removed at open.</li>
 *   <li>Layer or blob renamed into place, marked in memory only, no record yet: no record or lease
 *       refers to it, so the garbage collection at open deletes it, whatever its data.</li>
 *   <li>index.json with the record and the marks being replaced: AtomicFiles gives the old file
 *       (case 2) or the new one (case 4); index.json itself is always fsync'ed.</li>
 *   <li>Record and marks durable, syncfs not done: after kill -9 (same boot) the image is kept and
 *       synced on start; after a power loss (new boot) the marked layers and blobs and the images
 *       using them are dropped: the node re-pulls them. Never a layer that looks complete with
 *       lost data.</li>
 *   <li>syncfs done, cleared marks not yet in index.json: the stale marks drop synced content
 *       after a power loss: a needless re-pull, never a broken layer. A failed syncfs clears
 *       nothing (retried).</li>
 *   <li>{@link #close} (agent shutdown, end of {@code berth images import}) runs a last syncfs and
 *       writes the cleared marks, so a clean stop and reboot costs nothing.</li>
 * </ol>
 * A layer is deleted only when no image record, no lease and no pull in flight refers to it.
 */
public final class ImageStore implements AutoCloseable {
    private static final Log LOG = Log.get(ImageStore.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Pattern HEX_PREFIX = Pattern.compile("[a-f0-9]{4,64}");
    private static final Pattern HEX_ID = Pattern.compile("[a-f0-9]{64}");

    /** An image as persisted in index.json. */
    record ImageRecord(String id, List<String> repoTags, List<String> repoDigests, long size, String topDigest,
            String manifestDigest, List<String> chainIds, long createdMillis) {
    }

    /** A container's hold on an image's layers. */
    record Lease(String holder, String imageId, List<String> chainIds) {
    }

    /**
     * {@code unsyncedLayers} (chain id) and {@code unsyncedBlobs} (digest): what was renamed into
     * place without reaching the disk yet, each with the boot id it was written in.
     */
    record Index(List<ImageRecord> images, List<Lease> leases, Map<String, String> unsyncedLayers,
            Map<String, String> unsyncedBlobs) {
    }

    /** Facts about one unpacked layer, kept beside it. */
    public record LayerMeta(String chainId, String diffId, String blobDigest, long blobSize, long unpackedBytes) {
    }

    /** What the store occupies, for ImageFsInfo. */
    public record Usage(long bytes, long inodes) {
    }

    private final Path root;
    private final Path blobs;
    private final Path layers;
    private final Path ingest;
    private final Path indexFile;
    private final Map<String, ImageRecord> images = new LinkedHashMap<>();
    private final Map<String, Image> views = new HashMap<>();
    private final Map<String, Lease> leases = new LinkedHashMap<>();
    private final Map<String, Integer> pinned = new HashMap<>();
    private final String bootId;
    /**
     * Layers (chain id) and blobs (digest) renamed into place unsynced in this boot, each with its
     * commit number in this run (a mark read back at open has 0: any later syncfs covers it).
     */
    private final Map<String, Long> unsyncedLayers = new HashMap<>();
    private final Map<String, Long> unsyncedBlobs = new HashMap<>();
    /** Numbers the commits of this run, so that the syncer clears only what its syncfs covered. */
    private long commits;
    /**
     * The blob (compressed digest) each layer here was unpacked from, by chain id; an entry goes
     * with its layer when the garbage collection takes it. A pull waits for its config before
     * downloading a blob only when some layer here came from it (see {@link #unpackedFrom}).
     */
    private final Map<String, String> layerBlobs = new java.util.concurrent.ConcurrentHashMap<>();
    private StoreSyncer syncer;
    private java.nio.channels.FileChannel lockFile;
    private java.nio.channels.FileLock lock;

    private ImageStore(Path root, String bootId) {
        this.root = root;
        this.bootId = bootId;
        this.blobs = root.resolve("blobs");
        this.layers = root.resolve("layers");
        this.ingest = root.resolve("ingest");
        this.indexFile = root.resolve("index.json");
    }

    /** Opens (or creates) the store, dropping whatever a crash left half-written or a power loss may have lost. */
    public static ImageStore open(Path root) throws IOException {
        return open(root, BootId.current(), true);
    }

    /**
     * As {@link #open(Path)} in boot {@code bootId}; without {@code backgroundSync} nothing is ever
     * synced or cleared (tests use it to leave marks behind as a crash would).
     */
    static ImageStore open(Path root, String bootId, boolean backgroundSync) throws IOException {
        var store = new ImageStore(root, bootId);
        Files.createDirectories(root);
        // One process owns the store at a time (the agent, or `berth images import` while it is
        // stopped): the records and garbage collection assume no other writer.
        store.lockFile = java.nio.channels.FileChannel.open(root.resolve("lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        try {
            store.lock = store.lockFile.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            store.lock = null;
        }
        if (store.lock == null) {
            store.lockFile.close();
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "image store " + root
                    + " is in use by another berth process (is the agent running? stop it to import images)");
        }
        Files.createDirectories(store.blobs.resolve("sha256"));
        Files.createDirectories(store.layers);
        deleteTree(store.ingest);
        Files.createDirectories(store.ingest);
        try (Stream<Path> s = Files.list(store.layers)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(".")).toList()) {
                deleteTree(p);
            }
        }
        var lostLayers = new java.util.TreeSet<String>();
        var lostBlobs = new java.util.TreeSet<String>();
        if (Files.exists(store.indexFile)) {
            Index index = JSON.readValue(store.indexFile.toFile(), Index.class);
            for (ImageRecord r : index.images()) {
                store.images.put(r.id(), r);
            }
            for (Lease l : index.leases() == null ? List.<Lease>of() : index.leases()) {
                store.leases.put(l.holder(), l);
            }
            store.readMarks(index.unsyncedLayers(), store.unsyncedLayers, lostLayers);
            store.readMarks(index.unsyncedBlobs(), store.unsyncedBlobs, lostBlobs);
        }
        synchronized (store) {
            if (!lostLayers.isEmpty() || !lostBlobs.isEmpty()) {
                store.dropLost(lostLayers, lostBlobs);
            }
            // A record whose layers did not survive (a disk restored from an old backup) is dropped
            // rather than handed to a container as a broken rootfs; kubelet will pull it again.
            for (var r : List.copyOf(store.images.values())) {
                if (!r.chainIds().stream().allMatch(store::hasLayer)
                        || !Files.exists(store.blobPath(Digest.parse(r.id())))) {
                    LOG.warn("dropping image whose content is missing", "image", r.id());
                    store.images.remove(r.id());
                }
            }
            store.unsyncedLayers.keySet().removeIf(c -> !store.hasLayer(c));
            store.unsyncedBlobs.keySet().removeIf(d -> !Files.exists(store.blobPath(Digest.parse(d))));
            store.persist();
            store.gc();
        }
        store.learnUnpackedBlobs();
        if (backgroundSync) {
            store.syncer = new StoreSyncer(root, store::syncPoint, store::synced).start();
            store.requestSyncIfMarked();
        }
        LOG.info("image store open", "path", root, "images", store.images.size(), "leases", store.leases.size(),
                "unsynced_layers", store.unsyncedLayers.size(), "unsynced_blobs", store.unsyncedBlobs.size());
        return store;
    }

    /** Marks of this boot are kept (the page cache survived); marks of another boot go to {@code lost}. */
    private void readMarks(Map<String, String> onDisk, Map<String, Long> marks, Set<String> lost) {
        if (onDisk == null) {
            return;
        }
        onDisk.forEach((key, boot) -> {
            if (bootId.equals(boot)) {
                marks.put(key, 0L);
            } else {
                lost.add(key);
            }
        });
    }

    /**
     * Deletes layers and blobs that were not yet synced when the machine last went down (their files
     * may be empty or short), with every image that uses them: kubelet pulls those again.
     */
    private void dropLost(Set<String> lostLayers, Set<String> lostBlobs) throws IOException {
        for (var r : List.copyOf(images.values())) {
            var layersLost = r.chainIds().stream().filter(lostLayers::contains).toList();
            var blobsLost = Stream.of(r.id(), r.manifestDigest(), r.topDigest()).distinct()
                    .filter(lostBlobs::contains).toList();
            if (!layersLost.isEmpty() || !blobsLost.isEmpty()) {
                LOG.warn("dropping image whose content was not yet on disk when the machine went down; "
                        + "a later pull fetches it again", "image", r.id(), "tags", r.repoTags(),
                        "digests", r.repoDigests(), "unsynced_layers", layersLost, "unsynced_blobs", blobsLost);
                images.remove(r.id());
            }
        }
        for (String c : lostLayers) {
            var holders = leases.values().stream().filter(l -> l.chainIds().contains(c)).map(Lease::holder).toList();
            LOG.warn("deleting layer not synced before the machine went down", "chain_id", c,
                    "leased_by", holders);
            deleteTree(layerRoot(c));
        }
        for (String d : lostBlobs) {
            LOG.warn("deleting blob not synced before the machine went down", "digest", d);
            Files.deleteIfExists(blobPath(Digest.parse(d)));
        }
    }

    /** Which blobs the layers here came from, so that a pull knows a blob it need not fetch ahead of its config. */
    private void learnUnpackedBlobs() throws IOException {
        try (Stream<Path> s = Files.list(layers)) {
            for (Path p : s.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
                try {
                    LayerMeta meta = JSON.readValue(p.resolve("layer.json").toFile(), LayerMeta.class);
                    layerBlobs.put(meta.chainId(), meta.blobDigest());
                } catch (IOException e) {
                    LOG.debug("layer has no readable layer.json", "path", p, "error", e.toString());
                }
            }
        }
    }

    /**
     * True when a layer in this store was unpacked from the blob {@code digest}: a layer of that
     * blob may be here (under the chain id the config gives). False for a blob whose layers were
     * all removed: a pull of it again need not wait for its config before downloading.
     */
    public boolean unpackedFrom(Digest digest) {
        return layerBlobs.containsValue(digest.toString());
    }

    // ---------------------------------------------------------------- sync marks

    private synchronized void markUnsynced(Map<String, Long> marks, String key) {
        marks.put(key, ++commits);
    }

    private synchronized long syncPoint() {
        return commits;
    }

    /** A syncfs that started after commit {@code upTo} has returned: those marks go, on disk too. */
    private synchronized void synced(long upTo) {
        int before = unsyncedLayers.size() + unsyncedBlobs.size();
        unsyncedLayers.values().removeIf(seq -> seq <= upTo);
        unsyncedBlobs.values().removeIf(seq -> seq <= upTo);
        if (unsyncedLayers.size() + unsyncedBlobs.size() != before) {
            try {
                persist();
            } catch (IOException e) {
                throw new UncheckedIOException("write " + indexFile + " after syncfs", e);
            }
        }
    }

    private synchronized void requestSyncIfMarked() {
        if (syncer != null && (!unsyncedLayers.isEmpty() || !unsyncedBlobs.isEmpty())) {
            syncer.request();
        }
    }

    /** Chain ids of the layers not yet known to be on disk, for tests. */
    synchronized Set<String> unsyncedLayers() {
        return Set.copyOf(unsyncedLayers.keySet());
    }

    /** Digests of the blobs not yet known to be on disk, for tests. */
    synchronized Set<String> unsyncedBlobs() {
        return Set.copyOf(unsyncedBlobs.keySet());
    }

    public Path root() {
        return root;
    }

    /**
     * Stops the syncer, syncs what is still marked (so that a clean stop and reboot drops nothing)
     * and releases the store's lock; the store must not be used afterwards.
     */
    @Override
    public void close() throws IOException {
        StoreSyncer s;
        synchronized (this) {
            s = syncer;
            syncer = null;
        }
        if (s != null) {
            s.close();
            boolean marked;
            synchronized (this) {
                marked = !unsyncedLayers.isEmpty() || !unsyncedBlobs.isEmpty();
            }
            if (marked) {
                try {
                    s.syncNow();
                } catch (RuntimeException e) {
                    LOG.warn("last syncfs of the image store failed; unsynced marks stay", "path", root,
                            "error", e.getMessage());
                }
            }
        }
        synchronized (this) {
            if (lockFile != null && lockFile.isOpen()) {
                lockFile.close();
            }
        }
    }

    // ---------------------------------------------------------------- lookups

    public synchronized List<Image> list() {
        return images.values().stream().map(this::view).toList();
    }

    /**
     * The image named by {@code refOrId}: an id ("sha256:HEX", HEX, or a unique HEX prefix as crictl
     * abbreviates), a tag ({@code busybox}, {@code busybox:1}, fully qualified or not) or a digest
     * reference ({@code busybox@sha256:...}).
     */
    public synchronized Optional<Image> find(String refOrId) {
        if (refOrId == null || refOrId.isBlank()) {
            return Optional.empty();
        }
        String s = refOrId.trim();
        if (Digest.looksLike(s)) {
            return Optional.ofNullable(images.get(s)).map(this::view);
        }
        if (HEX_ID.matcher(s).matches() && images.containsKey("sha256:" + s)) {
            return Optional.of(view(images.get("sha256:" + s)));
        }
        try {
            ImageRef ref = ImageRef.parse(s);
            Optional<ImageRecord> byRef = byRef(ref);
            if (byRef.isPresent()) {
                return byRef.map(this::view);
            }
        } catch (BerthException notARef) {
            // fall through to an id prefix
        }
        if (HEX_PREFIX.matcher(s).matches()) {
            var matches = images.keySet().stream().filter(id -> id.startsWith("sha256:" + s)).toList();
            if (matches.size() == 1) {
                return Optional.of(view(images.get(matches.getFirst())));
            }
        }
        return Optional.empty();
    }

    public Image get(String refOrId) {
        return find(refOrId).orElseThrow(() -> BerthException.notFound("image '" + refOrId + "' not found"));
    }

    /** True when an image is recorded under {@code repoTag} ("host/repo:tag"). */
    public synchronized boolean hasTag(String repoTag) {
        return images.values().stream().anyMatch(r -> r.repoTags().contains(repoTag));
    }

    /** The image pulled for {@code name} whose index or manifest has this digest, if any. */
    public synchronized Optional<Image> findByDigest(String name, Digest digest) {
        String d = digest.toString();
        return images.values().stream()
                .filter(r -> r.repoDigests().contains(name + "@" + d)
                        || d.equals(r.topDigest()) || d.equals(r.manifestDigest()))
                .findFirst().map(this::view);
    }

    private Optional<ImageRecord> byRef(ImageRef ref) {
        if (ref.digest() != null) {
            String repoDigest = ref.repoDigest(ref.digest());
            String d = ref.digest().toString();
            return images.values().stream()
                    .filter(r -> r.repoDigests().contains(repoDigest)
                            || (d.equals(r.manifestDigest()) && r.repoDigests().stream()
                            .anyMatch(x -> x.startsWith(ref.name() + "@"))))
                    .findFirst();
        }
        String tag = ref.repoTag();
        return images.values().stream().filter(r -> r.repoTags().contains(tag)).findFirst();
    }

    private Image view(ImageRecord r) {
        return views.computeIfAbsent(r.id() + "|" + r.repoTags() + "|" + r.repoDigests(), k -> {
            ImageConfig config;
            try {
                config = ImageConfig.fromJson(JSON.readTree(readBlob(Digest.parse(r.id()))));
            } catch (IOException e) {
                throw new UncheckedIOException("read config of image " + r.id(), e);
            }
            return new Image(r.id(), List.copyOf(r.repoTags()), List.copyOf(r.repoDigests()), r.size(), config,
                    r.manifestDigest(), List.copyOf(r.chainIds()),
                    r.chainIds().stream().map(this::layerDir).toList());
        });
    }

    // ---------------------------------------------------------------- blobs

    Path blobPath(Digest d) {
        return blobs.resolve(d.algorithm()).resolve(d.hex());
    }

    public boolean hasBlob(Digest d) {
        return Files.exists(blobPath(d));
    }

    public byte[] readBlob(Digest d) throws IOException {
        return Files.readAllBytes(blobPath(d));
    }

    /**
     * Stores a small blob (manifest, index, config) after checking it against its digest. It is
     * renamed into place without fsync and marked unsynced (see the class comment).
     */
    public void putBlob(Digest d, byte[] content) throws IOException {
        Digest actual = Digest.of(d.algorithm(), hasher(d, content));
        if (!actual.equals(d)) {
            throw BerthException.invalid("blob " + d + ": content has digest " + actual);
        }
        Path target = blobPath(d);
        if (Files.exists(target)) {
            return;
        }
        Files.createDirectories(target.getParent());
        Path tmp = ingest.resolve(d.hex() + "-" + UUID.randomUUID());
        Files.write(tmp, content);
        markUnsynced(unsyncedBlobs, d.toString()); // before the rename: see commitLayer
        try {
            AtomicFiles.rename(tmp, target);
        } catch (FileAlreadyExistsException raced) {
            Files.deleteIfExists(tmp);
        }
    }

    private static java.security.MessageDigest hasher(Digest d, byte[] content) {
        var md = d.newHasher();
        md.update(content);
        return md;
    }

    // ---------------------------------------------------------------- layers

    public boolean hasLayer(String chainId) {
        return Files.isDirectory(layerRoot(chainId).resolve("diff"), LinkOption.NOFOLLOW_LINKS);
    }

    /** The unpacked layer directory for a chain id (an overlayfs lower dir). */
    public Path layerDir(String chainId) {
        return layerRoot(chainId).resolve("diff");
    }

    private Path layerRoot(String chainId) {
        return layers.resolve(Digest.parse(chainId).hex());
    }

    /** A fresh work directory; unpack into its {@code diff}, then {@link #commitLayer}. */
    public Path newLayerWork() throws IOException {
        Path work = layers.resolve(".work-" + UUID.randomUUID());
        Files.createDirectories(work.resolve("diff"));
        return work;
    }

    /**
     * Makes a verified, unpacked layer visible under its chain id, marked unsynced: the record that
     * names it carries the mark to disk, and the syncer clears it (see the class comment).
     */
    public void commitLayer(LayerMeta meta, Path work) throws IOException {
        Path target = layerRoot(meta.chainId());
        Files.write(work.resolve("layer.json"), JSON.writeValueAsBytes(meta));
        // Marked before the rename: another pull that sees the directory (hasLayer) and records an
        // image must find the mark in memory, or its record would reach the disk without it. A
        // syncfs between the two covers the data already; were the rename itself lost, the layer
        // would be missing, which open() handles.
        markUnsynced(unsyncedLayers, meta.chainId());
        long t0 = System.nanoTime();
        try {
            AtomicFiles.rename(work, target);
            LOG.debug("layer committed", "chain_id", meta.chainId(), "rename_ms", (System.nanoTime() - t0) / 1e6);
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
            deleteTree(work); // another pull committed the same layer first: identical content
        }
        layerBlobs.put(meta.chainId(), meta.blobDigest());
    }

    public void discardWork(Path work) {
        try {
            deleteTree(work);
        } catch (IOException e) {
            LOG.warn("could not remove layer work dir", "path", work, "error", e.toString());
        }
    }

    /** Protects layers and blobs a pull is about to reference from a concurrent garbage collection. */
    public synchronized void pin(Collection<String> chainIds) {
        chainIds.forEach(c -> pinned.merge(c, 1, Integer::sum));
    }

    public synchronized void unpin(Collection<String> chainIds) {
        chainIds.forEach(c -> pinned.computeIfPresent(c, (k, n) -> n <= 1 ? null : n - 1));
    }

    /**
     * Deletes those of {@code digests} that no image record and no pin refers to: what a failed
     * pull wrote goes, so the store is as it was.
     */
    public synchronized void dropUnusedBlobs(Collection<Digest> digests) {
        Set<String> live = liveBlobs();
        for (Digest d : digests) {
            if (!live.contains(d.toString())) {
                try {
                    Files.deleteIfExists(blobPath(d));
                    unsyncedBlobs.remove(d.toString());
                } catch (IOException e) {
                    LOG.warn("could not remove unused blob", "digest", d, "error", e.toString());
                }
            }
        }
    }

    private Set<String> liveBlobs() {
        Set<String> live = new HashSet<>(pinned.keySet());
        for (ImageRecord r : images.values()) {
            live.add(r.id());
            live.add(r.manifestDigest());
            live.add(r.topDigest());
        }
        return live;
    }

    // ---------------------------------------------------------------- records

    /**
     * Records a pulled image. A tag moves to the new image (the old one keeps its id and digests,
     * as docker's "&lt;none&gt;" images); names already on the image are kept.
     */
    public synchronized Image commit(String id, String repoTag, String repoDigest, long size, String topDigest,
            String manifestDigest, List<String> chainIds) throws IOException {
        ImageRecord existing = images.get(id);
        var tags = new ArrayList<String>(existing == null ? List.of() : existing.repoTags());
        var digests = new ArrayList<String>(existing == null ? List.of() : existing.repoDigests());
        boolean movedTag = false;
        if (repoTag != null) {
            for (var other : List.copyOf(images.values())) {
                if (!other.id().equals(id) && other.repoTags().contains(repoTag)) {
                    var moved = new ArrayList<>(other.repoTags());
                    moved.remove(repoTag);
                    images.put(other.id(), withNames(other, moved, other.repoDigests()));
                    movedTag = true;
                }
            }
            if (!tags.contains(repoTag)) {
                tags.add(repoTag);
            }
        }
        if (repoDigest != null && !digests.contains(repoDigest)) {
            digests.add(repoDigest);
        }
        var record = new ImageRecord(id, List.copyOf(tags), List.copyOf(digests), size, topDigest, manifestDigest,
                List.copyOf(chainIds), existing == null ? System.currentTimeMillis() : existing.createdMillis());
        if (record.equals(existing) && !movedTag) {
            // A pull of what is already recorded (the warm path): no write, no fsync, and no look at
            // its layers, checked when it was recorded; only gc, which never takes a recorded
            // image's layers, and the start-up drop of layers a power loss may have cut, which drops
            // their images with them, delete layers.
            return view(existing);
        }
        for (String c : chainIds) {
            if (!hasLayer(c)) {
                throw new IllegalStateException("layer " + c + " of image " + id + " is not in the store");
            }
        }
        images.put(id, record);
        persist();
        return view(record);
    }

    private static ImageRecord withNames(ImageRecord r, List<String> tags, List<String> digests) {
        return new ImageRecord(r.id(), List.copyOf(tags), List.copyOf(digests), r.size(), r.topDigest(),
                r.manifestDigest(), r.chainIds(), r.createdMillis());
    }

    /**
     * Removes the image named by {@code refOrId} with all its names (as containerd's RemoveImage
     * does), then deletes the layers and blobs nothing else uses. Removing a missing image is not
     * an error: kubelet retries (CRI: "This call is idempotent").
     */
    public boolean remove(String refOrId) throws IOException {
        List<Path> trash;
        synchronized (this) {
            Optional<Image> image = find(refOrId);
            if (image.isEmpty()) {
                return false;
            }
            images.remove(image.get().id());
            persist();
            trash = gc();
            LOG.info("image removed", "image", image.get().id(), "ref", refOrId);
        }
        for (Path p : trash) {
            deleteTree(p);
        }
        return true;
    }

    /**
     * Holds {@code imageId}'s layers for {@code holderId} (a container) so that they outlive a
     * RemoveImage of the image; persisted, so a restart keeps the hold. Re-leasing is idempotent.
     */
    public synchronized void lease(String imageId, String holderId) throws IOException {
        ImageRecord r = images.get(imageId);
        if (r == null) {
            Optional<Image> found = find(imageId);
            if (found.isEmpty()) {
                throw BerthException.notFound("image '" + imageId + "' not found");
            }
            r = images.get(found.get().id());
        }
        Lease l = new Lease(holderId, r.id(), r.chainIds());
        if (!l.equals(leases.get(holderId))) {
            leases.put(holderId, l);
            persist();
        }
    }

    /** Drops {@code holderId}'s hold; its layers go if nothing else uses them. Idempotent. */
    public void release(String holderId) throws IOException {
        List<Path> trash;
        synchronized (this) {
            if (leases.remove(holderId) == null) {
                return;
            }
            persist();
            trash = gc();
        }
        for (Path p : trash) {
            deleteTree(p);
        }
    }

    public synchronized Set<String> leaseHolders() {
        return Set.copyOf(leases.keySet());
    }

    /**
     * Moves unreferenced layers and blobs out of sight (a rename into a dot-directory, which
     * start-up also cleans) and returns them for deletion outside the lock.
     */
    private List<Path> gc() throws IOException {
        // Pins name chain ids and blob digests alike (both sha256 digests of different things).
        Set<String> liveLayers = new HashSet<>(pinned.keySet());
        Set<String> liveBlobs = liveBlobs();
        for (ImageRecord r : images.values()) {
            liveLayers.addAll(r.chainIds());
        }
        leases.values().forEach(l -> liveLayers.addAll(l.chainIds()));
        var trash = new ArrayList<Path>();
        try (Stream<Path> s = Files.list(layers)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (!name.startsWith(".") && !liveLayers.contains("sha256:" + name)) {
                    Path t = layers.resolve(".trash-" + name + "-" + UUID.randomUUID());
                    Files.move(p, t);
                    trash.add(t);
                    unsyncedLayers.remove("sha256:" + name);
                    layerBlobs.remove("sha256:" + name);
                    LOG.debug("layer unused, deleting", "chain_id", "sha256:" + name);
                }
            }
        }
        try (Stream<Path> s = Files.list(blobs.resolve("sha256"))) {
            for (Path p : s.toList()) {
                if (!liveBlobs.contains("sha256:" + p.getFileName())) {
                    Files.deleteIfExists(p);
                    unsyncedBlobs.remove("sha256:" + p.getFileName());
                }
            }
        }
        return trash;
    }

    /**
     * Writes index.json durably with every unsynced mark, then asks the syncer to clear them: the
     * syncfs starts after this fsync, not during it (with ext4's data=ordered, data written back
     * meanwhile would join the journal commit this fsync waits for).
     */
    private void persist() throws IOException {
        var index = new Index(List.copyOf(images.values()), List.copyOf(leases.values()), boots(unsyncedLayers),
                boots(unsyncedBlobs));
        AtomicFiles.write(indexFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
        views.keySet().removeIf(k -> !images.containsKey(k.substring(0, k.indexOf('|'))));
        requestSyncIfMarked();
    }

    /** The marks as index.json keeps them: each with the boot it was written in, this one. */
    private Map<String, String> boots(Map<String, Long> marks) {
        var out = new java.util.TreeMap<String, String>();
        marks.keySet().forEach(k -> out.put(k, bootId));
        return out;
    }

    /** Bytes and inodes the store occupies (blobs, layers, records). */
    public Usage usage() throws IOException {
        long[] total = new long[2];
        Files.walkFileTree(root, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                total[0] += attrs.size();
                total[1]++;
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                total[1]++;
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException exc) {
                return java.nio.file.FileVisitResult.CONTINUE; // deleted while we walked
            }
        });
        return new Usage(total[0], total[1]);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.delete(p);
                } catch (NoSuchFileException ignored) {
                    // already gone
                }
            }
        }
    }
}
