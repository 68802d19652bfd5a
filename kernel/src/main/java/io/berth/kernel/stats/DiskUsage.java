package io.berth.kernel.stats;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;

/**
 * Bytes and inodes used under a directory (a container's writable layer), as du(1) counts them
 * without crossing into other file systems' contents: each inode once (hard links), apparent sizes
 * of regular files. Entries removed during the walk are skipped, not errors.
 */
public final class DiskUsage {
    private DiskUsage() {
    }

    public record Usage(long timestamp, long bytes, long inodes) {
    }

    public static Usage of(Path dir) throws IOException {
        long now = java.time.Instant.now().toEpochMilli() * 1_000_000L;
        long[] totals = new long[2];
        var seen = new HashSet<Object>();
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                    count(a);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                    count(a);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path f, IOException e) {
                    return FileVisitResult.CONTINUE;
                }

                private void count(BasicFileAttributes a) {
                    Object key = a.fileKey();
                    if (key != null && !seen.add(key)) return;
                    totals[1]++;
                    if (a.isRegularFile()) totals[0] += a.size();
                }
            });
        } catch (NoSuchFileException e) {
            return new Usage(now, 0, 0);
        }
        return new Usage(now, totals[0], totals[1]);
    }
}
