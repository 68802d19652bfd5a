package io.berth.kernel.cgroup;

import io.berth.kernel.Syscalls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** File helpers shared by the v1 and v2 drivers; every error names the file and the value. */
final class CgroupFiles {
    private CgroupFiles() {
    }

    static void write(Path file, String value) throws IOException {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            throw new IOException("write " + value + " to " + file + ": " + reason(e), e);
        }
    }

    static String read(Path file) throws IOException {
        return Files.readString(file);
    }

    /** The file's content, stripped; empty when there is no such file. */
    static String readStripped(Path file) throws IOException {
        try {
            return Files.readString(file).strip();
        } catch (NoSuchFileException e) {
            return "";
        }
    }

    static String reason(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
    }

    /**
     * A {@code key value} line of a flat-keyed file (memory.events, memory.oom_control), 0 if the
     * file or the line is absent; read as the stats reader reads these files ({@link CgroupStatsReader.SmallFile}).
     */
    static long keyed(Path file, String key) throws IOException {
        var f = new CgroupStatsReader.SmallFile();
        if (!f.read(file)) {
            return 0;
        }
        long v = f.values(new byte[][] {key.getBytes(StandardCharsets.US_ASCII)})[0];
        if (v == CgroupStatsReader.SmallFile.GARBLED) {
            throw new IOException(file + ": the value of " + key + " is not a number");
        }
        return Math.max(v, 0);
    }

    /** The pids in cgroup {@code dir} itself (its cgroup.procs; not its sub-cgroups'); none if it is gone. */
    static List<Integer> pidsIn(Path dir) throws IOException {
        var out = new ArrayList<Integer>();
        try {
            for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                if (!line.isBlank()) out.add(Integer.parseInt(line.trim()));
            }
        } catch (NoSuchFileException e) {
            // removed concurrently or not a cgroup dir
        } catch (IOException e) {
            // A cgroup removed while its file is read fails the read with ENODEV ("No such
            // device"): it lists no process any more. Anything else, with the cgroup still there, is an error.
            if (Files.isDirectory(dir)) throw e;
        }
        return out;
    }

    /** Pids listed in cgroup.procs of {@code dir} and every directory below it. */
    static List<Integer> pidsBelow(Path dir) throws IOException {
        var out = new ArrayList<Integer>();
        if (Files.isDirectory(dir)) {
            collectPids(dir, out);
        }
        return out;
    }

    /**
     * The pids of {@code dir} and of the cgroups below it, depth first. A plain directory stream,
     * not Files.walk: in a shim's interpreted code the walk's stream pipeline had cost ~3.4 ms of
     * every pod's teardown (a profile of 50 shims). A cgroup removed meanwhile lists nothing.
     */
    private static void collectPids(Path dir, List<Integer> out) throws IOException {
        out.addAll(pidsIn(dir));
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    collectPids(entry, out);
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            // removed between the listing and the walk
        }
    }

    /**
     * Signals {@code pids}, never this process itself: one of its threads may sit in a container's
     * cgroup for a moment (a spawner or exec thread moved there so its child is born inside), and
     * cgroup.procs then lists this process too.
     */
    static int signal(List<Integer> pids, int signal) {
        int n = 0;
        // getpid(2) and kill(2), not ProcessHandle: its first use in a shim sets up the JDK's
        // process machinery, ~3.9 ms of interpreted CPU in every pod's teardown (a profile of
        // 50 shims, StopPodSandbox's SIGKILL to the container's cgroup).
        long self = Syscalls.getpid();
        for (int pid : pids) {
            if (pid != self && Syscalls.kill(pid, signal)) {
                n++;
            }
        }
        return n;
    }

    /**
     * rmdir(2) of {@code dir} and its sub-cgroups, deepest first, killing what is left in them.
     * A dying process still holds its cgroup for a moment (EBUSY), so retry until the deadline.
     */
    static void removeTree(Path dir, Duration timeout) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        // The common case first: no sub-cgroup and no process left (a container's processes end
        // with its PID namespace's init): one read and one rmdir. The walk below stats every
        // control file of the tree, ~0.5 ms a hierarchy in an interpreted shim, ten on v1.
        if (pidsIn(dir).isEmpty()) {
            try {
                Files.delete(dir);
                return;
            } catch (NoSuchFileException gone) {
                return;
            } catch (IOException busy) {
                // sub-cgroups, or a dying process still holding it: the walk and its retries below
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Path> dirs;
            try (Stream<Path> s = Files.walk(dir)) {
                // Deepest first. A plain lambda: Comparator.comparing makes a serializable one
                // (LambdaMetafactory.altMetafactory), linked on first use and not kept by the AOT
                // cache, ~2.5 ms of a shim's (interpreted) exit.
                dirs = s.filter(Files::isDirectory).sorted((a, b) -> Integer.compare(b.getNameCount(), a.getNameCount()))
                        .toList();
            } catch (NoSuchFileException | java.io.UncheckedIOException e) {
                if (!Files.exists(dir)) return;
                dirs = List.of(dir);
            }
            IOException last = null;
            for (Path d : dirs) {
                signal(pidsBelow(d), 9);
                try {
                    Files.deleteIfExists(d);
                } catch (IOException e) {
                    last = e;
                }
            }
            if (!Files.exists(dir)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("rmdir " + dir + ": " + (last == null ? "still exists" : reason(last))
                        + " (pids left: " + pidsBelow(dir) + ")", last);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted removing " + dir, e);
            }
        }
    }
}
