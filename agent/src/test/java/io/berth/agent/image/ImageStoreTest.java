package io.berth.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.domain.BerthException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageStoreTest {
    @TempDir
    Path dir;

    static final String LAYER_A = "sha256:" + "a".repeat(64);
    static final String LAYER_B = "sha256:" + "b".repeat(64);
    static final String LAYER_C = "sha256:" + "c".repeat(64);

    private final List<ImageStore> opened = new java.util.ArrayList<>();

    /**
     * Opens the store as the agent does (with its syncer thread), closed after the test: a syncer
     * left running could still be writing index.json while the temp dir is deleted.
     */
    private ImageStore open() throws IOException {
        var s = ImageStore.open(dir.resolve("images"));
        opened.add(s);
        return s;
    }

    @org.junit.jupiter.api.AfterEach
    void closeStores() throws IOException {
        for (var s : opened) {
            s.close();
        }
    }

    private static void layer(ImageStore s, String chainId) throws IOException {
        Path work = s.newLayerWork();
        Files.writeString(work.resolve("diff/file"), chainId);
        s.commitLayer(new ImageStore.LayerMeta(chainId, chainId, chainId, 1, 1), work);
    }

    /** Stores a config blob and returns the image id it gives. */
    private static String config(ImageStore s, String user) throws IOException {
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":\"" + user
                + "\",\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}")
                .getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.sha256(config);
        s.putBlob(d, config);
        return d.toString();
    }

    private static Image commit(ImageStore s, String id, String tag, List<String> chain) throws IOException {
        return s.commit(id, "docker.io/library/" + tag, null, 100, id, id, chain);
    }

    @Test
    void aLayerCommittedTwiceKeepsTheFirstAndDropsTheSecondWorkDir() throws IOException {
        // Two pulls that unpacked the same layer side by side: the second commit must succeed
        // quietly (identical content), not fail the pull, and leave no work dir behind.
        try (var s = open()) {
            layer(s, LAYER_A);
            Path second = s.newLayerWork();
            Files.writeString(second.resolve("diff/file"), "second");
            s.commitLayer(new ImageStore.LayerMeta(LAYER_A, LAYER_A, LAYER_A, 1, 1), second);
            assertEquals(LAYER_A, Files.readString(s.layerDir(LAYER_A).resolve("file")));
            assertFalse(Files.exists(second));
        }
    }

    @Test
    void aFailedPullsBlobsGoUnlessSomethingUsesThem() throws IOException {
        try (var s = open()) {
            layer(s, LAYER_A);
            String id = config(s, "0");
            commit(s, id, "app:1", List.of(LAYER_A));
            byte[] orphan = "{\"orphan\":true}".getBytes(StandardCharsets.UTF_8);
            Digest o = Digest.sha256(orphan);
            s.putBlob(o, orphan);
            s.dropUnusedBlobs(List.of(o, Digest.parse(id)));
            assertFalse(s.hasBlob(o), "nothing refers to it");
            assertTrue(s.hasBlob(Digest.parse(id)), "the recorded image's config stays");
            s.putBlob(o, orphan);
            s.pin(List.of(o.toString()));
            s.dropUnusedBlobs(List.of(o));
            assertTrue(s.hasBlob(o), "a pull in flight pinned it");
        }
    }

    @Test
    void findsByTagIdDigestAndPrefix() throws IOException {
        var s = open();
        layer(s, LAYER_A);
        String id = config(s, "1000:1000");
        var img = s.commit(id, "docker.io/library/app:1", "docker.io/library/app@" + id, 100, id, id, List.of(LAYER_A));
        assertEquals(id, s.get("app:1").id());
        assertEquals(id, s.get("docker.io/library/app:1").id());
        assertEquals(id, s.get(id).id());
        assertEquals(id, s.get(id.substring(7)).id());
        assertEquals(id, s.get(id.substring(7, 19)).id());
        assertEquals(id, s.get("app@" + id).id());
        assertTrue(s.find("app:2").isEmpty());
        assertTrue(s.find("other").isEmpty());
        assertEquals(1000L, img.config().uid());
        assertEquals(List.of("sh"), img.config().cmd());
        assertEquals(List.of(s.layerDir(LAYER_A)), img.layerDirs());
        assertEquals(LAYER_A, Files.readString(img.layerDirs().getFirst().resolve("file")));
    }

    @Test
    void removeKeepsSharedLayersAndIsIdempotent() throws IOException {
        var s = open();
        layer(s, LAYER_A);
        layer(s, LAYER_B);
        layer(s, LAYER_C);
        String one = config(s, "");
        String two = config(s, "nobody");
        commit(s, one, "one:1", List.of(LAYER_A, LAYER_B));
        commit(s, two, "two:1", List.of(LAYER_A, LAYER_C));
        assertTrue(s.remove("one:1"));
        assertTrue(s.hasLayer(LAYER_A), "shared with two:1");
        assertFalse(s.hasLayer(LAYER_B), "used by nothing any more");
        assertTrue(s.hasLayer(LAYER_C));
        assertFalse(s.remove("one:1"), "removing again is fine");
        assertFalse(Files.exists(s.root().resolve("blobs/sha256/" + one.substring(7))));
        assertEquals("nobody", s.get("two:1").config().username());
    }

    /**
     * Which blobs the layers here came from (a pull downloads a blob no layer here came from
     * without waiting for its config): a layer the GC took no longer counts, in this run or the next.
     */
    @Test
    void aRemovedLayersBlobNoLongerCountsAsUnpacked() throws IOException {
        var s = open();
        layer(s, LAYER_A); // unpacked "from" the blob LAYER_A (the helper uses the chain id for both)
        layer(s, LAYER_B);
        String one = config(s, "");
        commit(s, one, "one:1", List.of(LAYER_A, LAYER_B));
        assertTrue(s.unpackedFrom(Digest.parse(LAYER_B)));
        s.close();
        opened.clear();
        s = open();
        assertTrue(s.unpackedFrom(Digest.parse(LAYER_B)), "learnt again at open from layer.json");
        assertTrue(s.remove("one:1"));
        assertFalse(s.unpackedFrom(Digest.parse(LAYER_A)));
        assertFalse(s.unpackedFrom(Digest.parse(LAYER_B)));
        assertFalse(s.unpackedFrom(Digest.parse(LAYER_C)), "never here");
    }

    @Test
    void leasesKeepLayersPastRemovalAndARestart() throws IOException {
        var s = open();
        layer(s, LAYER_A);
        String id = config(s, "");
        commit(s, id, "app:1", List.of(LAYER_A));
        s.lease(id, "container-1");
        s.remove(id);
        assertTrue(s.find(id).isEmpty());
        assertTrue(s.hasLayer(LAYER_A), "leased by container-1");
        s.close();
        var reopened = open();
        assertTrue(reopened.hasLayer(LAYER_A), "the lease survived the restart");
        assertEquals(java.util.Set.of("container-1"), reopened.leaseHolders());
        reopened.release("container-1");
        assertFalse(reopened.hasLayer(LAYER_A));
        reopened.release("container-1");
        assertThrows(BerthException.class, () -> reopened.lease("sha256:" + "f".repeat(64), "c2"));
    }

    @Test
    void aTagMovesToTheNewImage() throws IOException {
        var s = open();
        layer(s, LAYER_A);
        String old = config(s, "a");
        String neu = config(s, "b");
        commit(s, old, "app:1", List.of(LAYER_A));
        commit(s, neu, "app:1", List.of(LAYER_A));
        assertEquals(neu, s.get("app:1").id());
        assertEquals(List.of(), s.get(old).repoTags(), "the old image stays, untagged");
    }

    @Test
    void survivesRestartAndDropsWhatACrashLeftHalfDone() throws IOException {
        var s = open();
        layer(s, LAYER_A);
        String id = config(s, "");
        commit(s, id, "app:1", List.of(LAYER_A));
        Path work = s.newLayerWork(); // a pull killed mid-unpack
        Files.writeString(work.resolve("diff/partial"), "x");
        Files.writeString(s.root().resolve("ingest/half-a-blob"), "x");
        Path orphan = s.root().resolve("layers/" + "d".repeat(64)); // committed, never recorded
        Files.createDirectories(orphan.resolve("diff"));
        s.close();

        var reopened = open();
        assertEquals(id, reopened.get("app:1").id());
        assertFalse(Files.exists(work));
        assertFalse(Files.exists(reopened.root().resolve("ingest/half-a-blob")));
        assertFalse(Files.exists(orphan));
        assertTrue(reopened.hasLayer(LAYER_A));
    }

    static final String BOOT_1 = "11111111-1111-1111-1111-111111111111";
    static final String BOOT_2 = "22222222-2222-2222-2222-222222222222";

    /** Polls {@code condition} for up to 10 s; true as soon as it holds. */
    private static boolean eventually(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(5);
        }
        return condition.getAsBoolean();
    }

    /** Two images in boot 1, one on a layer synced before, one on a layer still unsynced: as a power loss finds them. */
    private String[] unsyncedInBoot1() throws IOException {
        var s = ImageStore.open(dir.resolve("images"), BOOT_1, true);
        layer(s, LAYER_A);
        String synced = config(s, "synced");
        commit(s, synced, "synced:1", List.of(LAYER_A));
        s.close(); // a clean stop: the last syncfs clears every mark
        s = ImageStore.open(dir.resolve("images"), BOOT_1, false); // no syncer: nothing gets cleared
        assertEquals(java.util.Set.of(), s.unsyncedLayers(), "close synced everything");
        layer(s, LAYER_B);
        String unsynced = config(s, "unsynced");
        commit(s, unsynced, "unsynced:1", List.of(LAYER_A, LAYER_B));
        s.lease(unsynced, "container-1");
        assertEquals(java.util.Set.of(LAYER_B), s.unsyncedLayers());
        assertTrue(s.unsyncedBlobs().contains(unsynced));
        s.close(); // as kill -9 or a power loss leaves it: marks on disk, never cleared
        return new String[] {synced, unsynced};
    }

    @Test
    void anUnsyncedLayerFromAnotherBootIsDroppedWithItsImages() throws Exception {
        String[] ids = unsyncedInBoot1();
        try (var s = ImageStore.open(dir.resolve("images"), BOOT_2, true)) {
            assertFalse(s.hasLayer(LAYER_B), "its data may have been lost with the page cache");
            assertTrue(s.find("unsynced:1").isEmpty(), "the image using it is gone: a pull fetches it again");
            assertFalse(s.hasBlob(Digest.parse(ids[1])), "its unsynced config too");
            assertEquals(ids[0], s.get("synced:1").id(), "what was synced before stays");
            assertTrue(s.hasLayer(LAYER_A));
            assertEquals(java.util.Set.of(), s.unsyncedLayers());
            assertEquals(java.util.Set.of(), s.unsyncedBlobs());
        }
        try (var s = ImageStore.open(dir.resolve("images"), BOOT_2, false)) {
            assertTrue(s.find("unsynced:1").isEmpty(), "dropped for good, not only in memory");
            assertEquals(java.util.Set.of(), s.unsyncedLayers());
        }
    }

    @Test
    void anUnsyncedLayerFromThisBootIsKeptAndSynced() throws Exception {
        String[] ids = unsyncedInBoot1(); // the agent was killed; the kernel (and its page cache) was not
        try (var s = ImageStore.open(dir.resolve("images"), BOOT_1, true)) {
            assertEquals(ids[1], s.get("unsynced:1").id());
            assertTrue(s.hasLayer(LAYER_B));
            assertTrue(eventually(() -> s.unsyncedLayers().isEmpty() && s.unsyncedBlobs().isEmpty()),
                    "the syncer takes the marks up again: " + s.unsyncedLayers() + " " + s.unsyncedBlobs());
        }
        try (var s = ImageStore.open(dir.resolve("images"), BOOT_2, false)) {
            assertEquals(ids[1], s.get("unsynced:1").id(), "synced, so a later boot keeps it");
        }
    }

    @Test
    void theSyncerClearsTheMarksOfWhatAPullCommitted() throws Exception {
        try (var s = ImageStore.open(dir.resolve("images"), BOOT_1, true)) {
            layer(s, LAYER_A);
            String id = config(s, "");
            assertEquals(java.util.Set.of(LAYER_A), s.unsyncedLayers(), "marked at commit, before any record");
            commit(s, id, "app:1", List.of(LAYER_A));
            assertTrue(eventually(() -> s.unsyncedLayers().isEmpty() && s.unsyncedBlobs().isEmpty()),
                    "cleared by the syncer: " + s.unsyncedLayers() + " " + s.unsyncedBlobs());
            // Cleared on disk too: a power loss now costs nothing.
            assertTrue(eventually(() -> {
                try {
                    return !Files.readString(s.root().resolve("index.json")).contains(LAYER_A + "\" : \"" + BOOT_1);
                } catch (IOException e) {
                    return false;
                }
            }));
        }
        try (var s = ImageStore.open(dir.resolve("images"), BOOT_2, false)) {
            assertTrue(s.hasLayer(LAYER_A));
            assertTrue(s.find("app:1").isPresent());
        }
    }

    @Test
    void aMarkOutlivesAGcOfItsLayerOnlyUntilTheLayerGoes() throws Exception {
        try (var s = ImageStore.open(dir.resolve("images"), BOOT_1, false)) {
            layer(s, LAYER_A);
            String id = config(s, "");
            commit(s, id, "app:1", List.of(LAYER_A));
            s.remove("app:1");
            assertEquals(java.util.Set.of(), s.unsyncedLayers(), "a deleted layer needs no sync");
            assertEquals(java.util.Set.of(), s.unsyncedBlobs());
        }
    }

    @Test
    void onlyOneProcessOwnsTheStore() throws IOException {
        try (var s = open()) {
            var e = assertThrows(BerthException.class, () -> open());
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        open().close();
    }

    @Test
    void blobsAreVerifiedBeforeTheyAreStored() throws IOException {
        var s = open();
        Digest d = Digest.sha256("good".getBytes(StandardCharsets.UTF_8));
        var e = assertThrows(BerthException.class, () -> s.putBlob(d, "evil".getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains(d.toString()), e.getMessage());
        assertFalse(s.hasBlob(d));
    }
}
