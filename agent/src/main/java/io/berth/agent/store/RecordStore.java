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

    public RecordStore(Path dir, Class<T> type) {
        this.dir = dir;
        this.type = type;
    }

    public void put(String id, T record) {
        try {
            AtomicFiles.write(file(id), JSON.writeValueAsBytes(record));
        } catch (IOException e) {
            throw new UncheckedIOException("persist " + type.getSimpleName() + " " + id + " in " + dir, e);
        }
    }

    /**
     * Replaces a record with a change the agent re-derives after a crash (see
     * {@link AtomicFiles#replace}): atomic, not waited for on disk.
     */
    public void update(String id, T record) {
        try {
            AtomicFiles.replace(file(id), JSON.writeValueAsBytes(record));
        } catch (IOException e) {
            throw new UncheckedIOException("persist " + type.getSimpleName() + " " + id + " in " + dir, e);
        }
    }

    public void delete(String id) {
        try {
            AtomicFiles.delete(file(id));
        } catch (IOException e) {
            throw new UncheckedIOException("delete " + type.getSimpleName() + " " + id + " from " + dir, e);
        }
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
