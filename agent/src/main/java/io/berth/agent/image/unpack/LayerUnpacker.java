package io.berth.agent.image.unpack;

import io.berth.kernel.FileSystemCalls;
import io.berth.kernel.SyscallException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Unpacks one layer's tar stream into its own directory, ready to be an overlayfs lower layer.
 *
 * <p>OCI image-spec layer.md: regular files, directories, symlinks, hard links, character and block
 * devices and FIFOs keep their mode, owner, mtime and xattrs. Whiteouts ({@code .wh.NAME}) become
 * what overlayfs understands (Documentation/filesystems/overlayfs.rst, "whiteouts and opaque
 * directories"): a character device 0/0 named NAME; the opaque marker {@code .wh..wh..opq} becomes
 * the xattr {@code trusted.overlay.opaque=y} on its directory.
 *
 * <p>No entry may write outside the layer directory. Names are refused when absolute or when they
 * contain {@code ..}; an entry whose parent path passes through a symlink is refused (the symlink
 * might point anywhere once followed); a hard link must name a file already in this layer by a
 * path that obeys the same rules. Each refusal is an {@link UnsafeEntryException} naming the entry.
 */
public final class LayerUnpacker {
    private static final String WHITEOUT_PREFIX = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";
    private static final byte[] OPAQUE_VALUE = "y".getBytes(StandardCharsets.US_ASCII);

    /** What one unpack produced. */
    public record Stats(long entries, long bytes) {
    }

    /** An entry that would escape the layer, or that the layer cannot hold. */
    public static final class UnsafeEntryException extends IOException {
        private final String entry;

        public UnsafeEntryException(String entry, String why) {
            super("tar entry '" + entry + "': " + why);
            this.entry = entry;
        }

        public String entry() {
            return entry;
        }
    }

    private final boolean preserveOwners;

    /** @param preserveOwners chown entries to their uid/gid (needs root; rootless unpacking skips it) */
    public LayerUnpacker(boolean preserveOwners) {
        this.preserveOwners = preserveOwners;
    }

    /** True when this process runs as root, so owners and device nodes can be reproduced. */
    public static boolean runningAsRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private record DirTime(Path path, long seconds, int nanos) {
    }

    /**
     * The layers below the one being unpacked, topmost first, asked for only when an entry's parent
     * is missing from its own layer (it may wait for those layers to be unpacked).
     */
    @FunctionalInterface
    public interface Lowers {
        Lowers NONE = List::of;

        List<Path> dirs() throws IOException;
    }

    /** Unpacks {@code tar} into {@code root}, an existing empty directory, as a bottom layer. */
    public Stats unpack(InputStream tar, Path root) throws IOException {
        return unpack(tar, root, Lowers.NONE);
    }

    /**
     * Unpacks {@code tar} into {@code root}, an existing empty directory, as the layer above
     * {@code lowers}. An entry whose parent directory is not in this layer is placed where the
     * merged view (this layer over the lower ones) resolves that parent, as containerd does by
     * applying a layer onto the mounted parents: with {@code /lib -> usr/lib} in a lower layer
     * (a merged-/usr image), {@code lib/x} lands in {@code usr/lib/x}, and no {@code lib}
     * directory is made that would hide the lower symlink. Symlinks are followed inside the layer
     * root only (an absolute or {@code ..} target is taken relative to the root, as in the
     * container), so nothing is ever written outside {@code root}.
     */
    public Stats unpack(InputStream tar, Path root, Lowers lowers) throws IOException {
        var reader = new TarReader(tar);
        var merged = new MergedParents(root, lowers, preserveOwners);
        Set<String> knownDirs = new HashSet<>();
        List<DirTime> dirTimes = new ArrayList<>();
        byte[] buffer = new byte[128 * 1024];
        long entries = 0;
        long bytes = 0;
        for (TarReader.Entry e = reader.next(); e != null; e = reader.next()) {
            entries++;
            try {
                bytes += entry(e, root, reader, knownDirs, dirTimes, buffer, merged);
            } catch (SyscallException x) {
                throw new IOException("tar entry '" + e.name() + "': " + x.getMessage(), x);
            }
        }
        // Directory mtimes last, deepest first: creating their children changed them.
        for (int i = dirTimes.size() - 1; i >= 0; i--) {
            DirTime d = dirTimes.get(i);
            try {
                FileSystemCalls.lutimes(d.path(), d.seconds(), d.nanos());
            } catch (SyscallException x) {
                throw new IOException(x.getMessage(), x);
            }
        }
        return new Stats(entries, bytes);
    }

    /** One entry; returns the bytes of file content it wrote. */
    private long entry(TarReader.Entry e, Path root, TarReader reader, Set<String> knownDirs, List<DirTime> dirTimes,
            byte[] buffer, MergedParents merged) throws IOException {
        long bytes = 0;
        String rel = clean(e.name(), e.name());
        if (rel.isEmpty()) {
            // The layer's root ("./"): only its metadata applies.
            if (e.type() == TarReader.DIRECTORY) {
                applyMetadata(root, e, false);
                dirTimes.add(new DirTime(root, e.mtimeSeconds(), e.mtimeNanos()));
            }
            return 0;
        }
        int slash = rel.lastIndexOf('/');
        String parentRel = slash < 0 ? "" : rel.substring(0, slash);
        String base = slash < 0 ? rel : rel.substring(slash + 1);
        Path parent = merged.parent(parentRel, e.name(), knownDirs);
        if (!e.isRegular()) {
            merged.forget(); // a new directory, symlink or whiteout may change how later parents resolve
        }

        if (base.equals(OPAQUE)) {
            FileSystemCalls.lsetxattr(parent, "trusted.overlay.opaque", OPAQUE_VALUE);
            return 0;
        }
        if (base.startsWith(WHITEOUT_PREFIX)) {
            String hidden = base.substring(WHITEOUT_PREFIX.length());
            if (hidden.startsWith(".wh.")) {
                return 0; // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not part of the image's content
            }
            if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
                throw new UnsafeEntryException(e.name(), "whiteout names no file");
            }
            Path target = parent.resolve(hidden);
            removeExisting(target, knownDirs, rel);
            FileSystemCalls.mknod(target, FileSystemCalls.S_IFCHR, 0, 0);
            return 0;
        }

        Path path = parent.resolve(base);
        switch (e.type()) {
            case TarReader.DIRECTORY -> {
                try {
                    Files.createDirectory(path);
                } catch (FileAlreadyExistsException x) {
                    var attrs = attributes(path);
                    if (attrs == null || !attrs.isDirectory()) {
                        removeExisting(path, knownDirs, rel);
                        Files.createDirectory(path);
                    }
                }
                knownDirs.add(rel);
                applyMetadata(path, e, false);
                dirTimes.add(new DirTime(path, e.mtimeSeconds(), e.mtimeNanos()));
            }
            case TarReader.REGULAR, TarReader.REGULAR_OLD, TarReader.CONTIGUOUS -> {
                try (OutputStream out = replacing(path, knownDirs, rel, () -> Files.newOutputStream(path,
                        StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))) {
                    InputStream in = reader.content();
                    for (int r; (r = in.read(buffer)) >= 0; ) {
                        out.write(buffer, 0, r);
                        bytes += r;
                    }
                }
                applyMetadata(path, e, false);
            }
            case TarReader.SYMLINK -> {
                // The target may point anywhere: it is resolved inside the container's root at run
                // time, never by us. Only writing *through* a symlink could escape (ensureParents).
                if (e.linkName().isEmpty()) {
                    throw new UnsafeEntryException(e.name(), "symlink has no target");
                }
                replacing(path, knownDirs, rel, () -> Files.createSymbolicLink(path, Path.of(e.linkName())));
                applyMetadata(path, e, true);
            }
            case TarReader.HARDLINK -> {
                String targetRel = clean(e.linkName(), e.name());
                if (targetRel.isEmpty()) {
                    throw new UnsafeEntryException(e.name(), "hard link to the layer root");
                }
                int ts = targetRel.lastIndexOf('/');
                Path targetParent = ensureParents(root, ts < 0 ? "" : targetRel.substring(0, ts), e.name(),
                        knownDirs, false);
                Path target = targetParent.resolve(ts < 0 ? targetRel : targetRel.substring(ts + 1));
                var attrs = attributes(target);
                if (attrs == null) {
                    throw new UnsafeEntryException(e.name(), "hard link target '" + e.linkName()
                            + "' is not in this layer");
                }
                if (attrs.isDirectory()) {
                    throw new UnsafeEntryException(e.name(), "hard link to a directory '" + e.linkName() + "'");
                }
                if (!target.equals(path)) {
                    removeExisting(path, knownDirs, rel);
                    Files.createLink(path, target);
                }
            }
            case TarReader.CHAR, TarReader.BLOCK, TarReader.FIFO -> {
                removeExisting(path, knownDirs, rel);
                int type = e.type() == TarReader.CHAR ? FileSystemCalls.S_IFCHR
                        : e.type() == TarReader.BLOCK ? FileSystemCalls.S_IFBLK : FileSystemCalls.S_IFIFO;
                FileSystemCalls.mknod(path, type | (e.mode() & 07777), e.devMajor(), e.devMinor());
                applyMetadata(path, e, false);
            }
            default -> throw new UnsafeEntryException(e.name(), "unsupported tar entry type '"
                    + (char) e.type() + "'");
        }
        return bytes;
    }

    /**
     * The entry's name relative to the layer root, with "." parts dropped; refuses absolute names
     * and any ".." part rather than clamping them, so a hostile layer fails loudly.
     */
    static String clean(String name, String entry) throws UnsafeEntryException {
        if (name.startsWith("/")) {
            throw new UnsafeEntryException(entry, "absolute path '" + name + "' is not allowed in a layer");
        }
        if (name.indexOf('\0') >= 0) {
            throw new UnsafeEntryException(entry, "name contains a NUL byte");
        }
        var out = new StringBuilder(name.length());
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw new UnsafeEntryException(entry, "path '" + name + "' leaves the layer ('..')");
            }
            if (!out.isEmpty()) {
                out.append('/');
            }
            out.append(part);
        }
        return out.toString();
    }

    /**
     * Makes sure each directory on {@code parentRel} is a real directory inside the layer: missing
     * ones are created (when {@code create}), a symlink on the way is refused.
     */
    static Path ensureParents(Path root, String parentRel, String entry, Set<String> knownDirs,
            boolean create) throws IOException {
        if (parentRel.isEmpty()) {
            return root;
        }
        if (knownDirs.contains(parentRel)) {
            return root.resolve(parentRel);
        }
        Path p = root;
        int start = 0;
        while (start <= parentRel.length()) {
            int slash = parentRel.indexOf('/', start);
            int end = slash < 0 ? parentRel.length() : slash;
            String prefix = parentRel.substring(0, end);
            p = p.resolve(parentRel.substring(start, end));
            if (!knownDirs.contains(prefix)) {
                var attrs = attributes(p);
                if (attrs == null) {
                    if (!create) {
                        throw new UnsafeEntryException(entry, "'" + prefix + "' does not exist in this layer");
                    }
                    Files.createDirectory(p);
                } else if (attrs.isSymbolicLink()) {
                    throw new UnsafeEntryException(entry, "path passes through the symlink '" + prefix
                            + "' (it could point outside the layer)");
                } else if (!attrs.isDirectory()) {
                    throw new UnsafeEntryException(entry, "'" + prefix + "' is not a directory");
                }
                knownDirs.add(prefix);
            }
            if (slash < 0) {
                break;
            }
            start = slash + 1;
        }
        return p;
    }

    static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private interface Creation<T> {
        T create() throws IOException;
    }

    /**
     * Creates a new file system entry at {@code path}; one already there (of an earlier entry of
     * the same name) is removed first. Trying first is the common case's one system call: a look
     * that finds nothing costs a failed stat and a Java exception per entry.
     */
    private static <T> T replacing(Path path, Set<String> knownDirs, String rel, Creation<T> creation)
            throws IOException {
        try {
            return creation.create();
        } catch (FileAlreadyExistsException e) {
            removeExisting(path, knownDirs, rel);
            return creation.create();
        }
    }

    /** A later entry of the same name replaces an earlier one (tar semantics: the last one wins). */
    private static void removeExisting(Path path, Set<String> knownDirs, String rel) throws IOException {
        var attrs = attributes(path);
        if (attrs == null) {
            return;
        }
        if (attrs.isDirectory()) {
            try {
                Files.delete(path);
            } catch (DirectoryNotEmptyException e) {
                try (Stream<Path> walk = Files.walk(path)) {
                    for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(q);
                    }
                }
            }
            knownDirs.removeIf(d -> d.equals(rel) || d.startsWith(rel + "/"));
        } else {
            Files.delete(path);
        }
    }

    private void applyMetadata(Path path, TarReader.Entry e, boolean symlink) throws IOException {
        // Order matters: chown clears setuid/setgid bits and security.capability (chown(2),
        // capabilities(7)), so it goes first, then the mode, then the xattrs.
        if (preserveOwners) {
            FileSystemCalls.lchown(path, e.uid(), e.gid());
        }
        if (!symlink) {
            FileSystemCalls.chmod(path, e.mode());
        }
        for (var x : e.xattrs().entrySet()) {
            if (x.getKey().startsWith("trusted.overlay.")) {
                continue; // overlayfs' own bookkeeping: a layer must not forge opaque or redirect markers
            }
            if (!preserveOwners && !x.getKey().startsWith("user.")) {
                continue; // security.* and trusted.* need CAP_SYS_ADMIN / CAP_SETFCAP
            }
            FileSystemCalls.lsetxattr(path, x.getKey(), x.getValue());
        }
        if (e.type() != TarReader.DIRECTORY) {
            FileSystemCalls.lutimes(path, e.mtimeSeconds(), e.mtimeNanos());
        }
    }
}
