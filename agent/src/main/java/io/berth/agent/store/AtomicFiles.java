package io.berth.agent.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Crash-safe file replacement: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the directory. After a crash or kill -9 at any point the target is either the old
 * content or the new one, never a torn mix (a leftover {@code .tmp-*} file is ignored and swept).
 */
public final class AtomicFiles {
    static final String TEMP_PREFIX = ".tmp-";

    private AtomicFiles() {
    }

    /** Writes {@code content} readable by its owner only (0600), as the agent's own records are. */
    public static void write(Path target, byte[] content) throws IOException {
        write(target, content, PosixFilePermissions.fromString("rw-------"));
    }

    /** Writes {@code content} with the given mode (e.g. 0644 for files containers read as any user). */
    public static void write(Path target, byte[] content, Set<PosixFilePermission> mode) throws IOException {
        write(target, content, mode, true);
    }

    /**
     * Replaces {@code target} atomically (temp file, rename) without waiting for the disk: after a
     * crash it holds either the previous or the new content, never a torn mix, but possibly the
     * previous. Only for what the agent re-derives after a restart anyway (a container's state
     * changes, learnt again from its shim and durable exit record). An fsync on a busy node can take
     * tens of ms (journal commits queue behind other writers), which StopContainer need not pay.
     */
    public static void replace(Path target, byte[] content) throws IOException {
        replace(target, content, PosixFilePermissions.fromString("rw-------"));
    }

    /**
     * {@link #replace(Path, byte[])} with the given mode: also for files in the run directory,
     * which does not outlive a reboot (the only event an fsync guards against).
     */
    public static void replace(Path target, byte[] content, Set<PosixFilePermission> mode) throws IOException {
        write(target, content, mode, false);
    }

    private static void write(Path target, byte[] content, Set<PosixFilePermission> mode, boolean durable) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, TEMP_PREFIX, "-" + target.getFileName(),
                PosixFilePermissions.asFileAttribute(mode));
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                if (durable) ch.force(true);
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + target + " atomically", e);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        if (durable) fsyncDirectory(dir);
    }

    /**
     * Renames a finished, already durable file or directory into place (rename(2): atomic within
     * a file system) and makes the rename durable by fsyncing the target's directory. Used for
     * what is verified before it gets its final name: image blobs and unpacked layers. A target
     * that is a non-empty directory is not replaced ({@link java.nio.file.DirectoryNotEmptyException}).
     */
    public static void rename(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + from + " to " + to + " atomically", e);
        } catch (java.nio.file.FileSystemException e) {
            // rename(2) fails with ENOTEMPTY (or EEXIST) over a non-empty directory; the JDK reports
            // that as a plain FileSystemException, so callers could not tell "already there" apart.
            if (!(e instanceof java.nio.file.DirectoryNotEmptyException)
                    && Files.isDirectory(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                var already = new java.nio.file.DirectoryNotEmptyException(to.toString());
                already.initCause(e);
                throw already;
            }
            throw e;
        }
        fsyncDirectory(to.toAbsolutePath().getParent());
    }

    /** Deletes {@code target} and makes the deletion durable. */
    public static void delete(Path target) throws IOException {
        if (Files.deleteIfExists(target)) {
            fsyncDirectory(target.toAbsolutePath().getParent());
        }
    }

    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static boolean isTemp(Path file) {
        return file.getFileName().toString().startsWith(TEMP_PREFIX);
    }
}
