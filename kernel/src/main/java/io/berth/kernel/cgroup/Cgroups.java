package io.berth.kernel.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The cgroupfs driver for one machine's cgroup layout. Code that writes cgroupfs takes its root as
 * a Path (STYLE.md §11), so tests run against a {@code @TempDir} laid out like v1 or v2.
 */
public interface Cgroups {
    Path DEFAULT_ROOT = Path.of("/sys/fs/cgroup");

    /** cgroup v2 (unified) when the root itself is a cgroup2 mount, i.e. has cgroup.controllers. */
    static Cgroups detect(Path root) throws IOException {
        if (Files.exists(root.resolve("cgroup.controllers"))) {
            return new CgroupV2(root);
        }
        return new CgroupV1(root);
    }

    static Cgroups host() throws IOException {
        return detect(DEFAULT_ROOT);
    }

    boolean isV2();

    /** Creates the cgroup (and missing parents) and applies the limits. */
    Cgroup create(String path, Resources resources) throws IOException;

    /** A handle on a cgroup that may or may not exist (for removal after a restart). */
    Cgroup open(String path);

    /**
     * Moves thread {@code tid} of this process back into the cgroups the calling thread is in (v1,
     * every hierarchy), e.g. a thread moved into a container's cgroup (see
     * {@link Cgroup#addThread}) once its child is born there. Cgroup v2 never moves single threads.
     */
    void returnThread(int tid) throws IOException;

    /** Joins a parent like kubelet's cgroup_parent ({@code /kubepods/besteffort/pod<uid>}) and a child name. */
    static String join(String parent, String name) {
        String p = parent == null || parent.isEmpty() ? "" : (parent.startsWith("/") ? parent : "/" + parent);
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return name == null || name.isEmpty() ? (p.isEmpty() ? "/" : p) : p + "/" + name;
    }

    static void validate(String path) {
        if (!path.startsWith("/") || path.contains("/../") || path.endsWith("/..") || path.contains("\0")) {
            throw new IllegalArgumentException("invalid cgroup path " + path);
        }
    }
}
