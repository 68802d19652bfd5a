package io.berth.agent.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordStoreTest {
    record Rec(String id, int version) {
    }

    @TempDir
    Path dir;

    @Test
    void aChangeWrittenBehindReachesTheFileAndTheLatestWins() throws Exception {
        var store = new RecordStore<>(dir, Rec.class);
        store.put("a", new Rec("a", 1));
        for (int v = 2; v <= 50; v++) {
            store.updateBehind("a", new Rec("a", v));
        }
        store.awaitWritesBehind();
        assertEquals(List.of(new Rec("a", 50)), store.loadAll(), "no older change lands after the latest");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(dir.resolve("a.json")), files.toList(), "no temp file left");
        }
    }

    @Test
    void putUpdateAndDeleteOvertakeAChangeNotYetWritten() throws Exception {
        var store = new RecordStore<>(dir, Rec.class);
        for (int i = 0; i < 200; i++) {
            String id = "r" + i;
            store.put(id, new Rec(id, 1));
            store.updateBehind(id, new Rec(id, 2));
            switch (i % 3) {
                case 0 -> store.put(id, new Rec(id, 3));
                case 1 -> store.update(id, new Rec(id, 3));
                default -> store.delete(id);
            }
        }
        store.awaitWritesBehind();
        var all = store.loadAll();
        assertEquals(134, all.size(), "the deleted third stays deleted");
        assertTrue(all.stream().allMatch(r -> r.version() == 3), "a pending change never lands over a later one: " + all);
        for (int i = 2; i < 200; i += 3) {
            assertFalse(Files.exists(dir.resolve("r" + i + ".json")), "r" + i + " was deleted");
        }
        // The write-behind threads of the deleted records may run after the delete: give them the
        // time, then none of them may have left a lock for its record behind.
        Thread.sleep(200);
        assertEquals(134, store.lockCount(), "a lock for each record kept, none for a deleted one");
    }
}
