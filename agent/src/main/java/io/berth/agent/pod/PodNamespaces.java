package io.berth.agent.pod;

import java.nio.file.Path;
import java.util.Set;

/**
 * Pins a pod's own namespaces (no pause process: DESIGN.md, as CRI-O's pinns): each is created on a
 * dedicated thread and kept alive by a bind mount of /proc/thread-self/ns/KIND onto {@code dir/KIND}.
 */
public interface PodNamespaces {
    enum Kind { NET, IPC, UTS }

    /** Creates and pins the given namespaces under {@code dir}; sets the hostname in a new UTS one. */
    void create(Path dir, Set<Kind> kinds, String hostname);

    /** Unmounts and deletes every pin under {@code dir}. Idempotent: a missing dir is fine. */
    void remove(Path dir);

    /**
     * Which of {@code kinds} no longer have their namespace pinned under {@code dir}: a pin that is
     * missing, or a plain file again (a reboot with the run directory on a disk, an unmount).
     */
    Set<Kind> lost(Path dir, Set<Kind> kinds);

    static Path pin(Path dir, Kind kind) {
        return dir.resolve(kind.name().toLowerCase(java.util.Locale.ROOT));
    }
}
