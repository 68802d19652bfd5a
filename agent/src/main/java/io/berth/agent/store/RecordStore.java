package io.berth.agent.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.berth.agent.log.Log;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Durable records of one kind (sandboxes, containers), one JSON file per record named by its id,
 * each change written with {@link AtomicFiles#write}. The agent's truth survives a restart or a
 * kill -9: on start it reloads every record from here.
 */
public final class RecordStore<T> {
    private static final Log LOG = Log.get(RecordStore.class);
    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Path dir;
    private final Class<T> type;
    /** Changes {@link #updateBehind} has not written yet, the latest per record. */
    private final Map<String, T> behind = new ConcurrentHashMap<>();
    /** One lock per record: its file is written by one thread at a time, in the order of the changes. */
    private final Map<String, Object> fileLocks = new ConcurrentHashMap<>();

    public RecordStore(Path dir, Class<T> type) {
        this.dir = dir;
        this.type = type;
    }

    public void put(String id, T record) {
        now(id, "persist", "in", () -> AtomicFiles.write(file(id), JSON.writeValueAsBytes(record)));
    }

    /**
     * Replaces a record with a change the agent re-derives after a crash (see
     * {@link AtomicFiles#replace}): atomic, not waited for on disk.
     */
    public void update(String id, T record) {
        now(id, "persist", "in", () -> AtomicFiles.replace(file(id), JSON.writeValueAsBytes(record)));
    }

    /**
     * {@link #update} without waiting for the file: written on a thread of its own, for a change
     * that the record's file need not hold before the caller answers, because a restarted agent
     * learns it again anyway (a container's start and exit, from its shim and its durable exit.pb).
     * A newer change of the record replaces one not written yet; put, update and delete of the
     * record write after (or drop) what is pending. The file write (temp file, rename) took 1.5 ms
     * and at times 10 ms on this VM, on the path of StartContainer and StopContainer. A failed write
     * is logged: the record on disk then keeps the previous state until the next change.
     */
    public void updateBehind(String id, T record) {
        Object lock = fileLock(id);
        if (behind.put(id, record) == null) {
            Thread.ofVirtual().name("record-" + id.substring(0, Math.min(12, id.length()))).start(() -> writeBehind(id, lock));
        }
    }

    /**
     * Under the lock the record had when the change came: a record deleted meanwhile has no lock
     * in the map any more, and looking it up here would put one back for good.
     */
    private void writeBehind(String id, Object lock) {
        synchronized (lock) {
            T record = behind.remove(id);
            if (record == null) {
                return; // written or dropped by put, update or delete meanwhile
            }
            try {
                AtomicFiles.replace(file(id), JSON.writeValueAsBytes(record));
            } catch (IOException e) {
                LOG.warn("record change not written", "type", type.getSimpleName(), "id", id, "error", e.getMessage());
            }
        }
    }

    /**
     * Waits until every change {@link #updateBehind} took has been written (or overtaken): for a
     * stopping agent, whose record files then hold its last word, and for tests that read the files.
     */
    public void awaitWritesBehind() {
        while (!behind.isEmpty()) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        // A writer takes its change out of the map under the record's lock: taking each lock
        // waits for one still writing.
        for (Object lock : List.copyOf(fileLocks.values())) {
            synchronized (lock) {
                // held: no write of this record is under way
            }
        }
    }

    public void delete(String id) {
        now(id, "delete", "from", () -> AtomicFiles.delete(file(id)));
        fileLocks.remove(id);
    }

    private interface FileWrite {
        void run() throws IOException;
    }

    /**
     * {@code write} of the record's file, on this thread and under the record's lock; a change
     * {@link #updateBehind} has not written yet is older than this one and is dropped.
     */
    private void now(String id, String verb, String preposition, FileWrite write) {
        synchronized (fileLock(id)) {
            behind.remove(id);
            try {
                write.run();
            } catch (IOException e) {
                throw new UncheckedIOException(verb + " " + type.getSimpleName() + " " + id + " " + preposition + " " + dir, e);
            }
        }
    }

    private Object fileLock(String id) {
        return fileLocks.computeIfAbsent(id, k -> new Object());
    }

    /** How many records have a lock object: one per record written or changed and not deleted. */
    int lockCount() {
        return fileLocks.size();
    }

    /** Every record on disk. Temp files left by a crash are removed; unreadable files are logged and kept aside. */
    public List<T> loadAll() {
        var out = new ArrayList<T>();
        try {
            Files.createDirectories(dir);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    if (AtomicFiles.isTemp(f)) {
                        Files.deleteIfExists(f);
                    } else if (f.getFileName().toString().endsWith(".json")) {
                        try {
                            out.add(JSON.readValue(f.toFile(), type));
                        } catch (IOException e) {
                            Path aside = f.resolveSibling(f.getFileName() + ".corrupt");
                            LOG.error("unreadable record set aside", "file", f, "moved_to", aside, "error", e.getMessage());
                            Files.move(f, aside);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("load " + type.getSimpleName() + " records from " + dir, e);
        }
        return out;
    }

    private Path file(String id) {
        return dir.resolve(id + ".json");
    }
}
