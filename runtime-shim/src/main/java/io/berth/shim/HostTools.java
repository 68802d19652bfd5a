package io.berth.shim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The host's own programs that the shim runs as short-lived helpers (mount(8) for a /proc on older
 * kernels, sh and unshare(1) for a v2 cgroup namespace): nothing of them is needed in the image.
 */
final class HostTools {
    /** A helper's whole environment: the host's binary directories, and messages in plain C. */
    static final List<String> ENV = List.of("PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C");

    private HostTools() {
    }

    /** The first of {@code candidates} that is an executable file. */
    static Path find(List<Path> candidates) throws IOException {
        for (Path p : candidates) {
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IOException("none of " + candidates + " is an executable file");
    }
}
