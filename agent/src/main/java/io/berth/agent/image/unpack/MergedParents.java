package io.berth.agent.image.unpack;

import io.berth.agent.image.unpack.LayerUnpacker.UnsafeEntryException;
import io.berth.kernel.FileSystemCalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where an entry's parent directory is, in the merged view of the layer being unpacked over its
 * lower layers (overlayfs semantics, Documentation/filesystems/overlayfs.rst): a directory missing
 * from this layer is looked up in the lower layers, topmost first, up to a whiteout or an opaque
 * directory. A lower directory is made again in this layer with its mode and owner (what overlayfs'
 * copy-up does); a lower symlink is followed, its target taken relative to the layer root whether
 * absolute or not and {@code ..} stopping at the root (as inside the container, and as
 * filepath-securejoin resolves for runc), so the result is always inside the layer directory. A
 * symlink that this layer itself made is still refused, as before.
 */
final class MergedParents {
    /** Linux gives up with ELOOP after 40 symlinks in one lookup (path_resolution(7)). */
    private static final int MAX_SYMLINKS = 40;
    private static final int S_IFMT = 0170000;

    private final Path root;
    private final LayerUnpacker.Lowers lowers;
    private final boolean preserveOwners;
    private List<Path> lowerDirs;
    /** Parent names that resolved somewhere else through a lower symlink. */
    private final Map<String, Path> aliases = new HashMap<>();

    MergedParents(Path root, LayerUnpacker.Lowers lowers, boolean preserveOwners) {
        this.root = root;
        this.lowers = lowers;
        this.preserveOwners = preserveOwners;
    }

    /** Entries that change the tree (directories, symlinks, whiteouts) may change how names resolve. */
    void forget() {
        aliases.clear();
    }

    /** The directory to create {@code parentRel}'s children in; makes what is missing. */
    Path parent(String parentRel, String entry, Set<String> knownDirs) throws IOException {
        if (parentRel.isEmpty()) {
            return root;
        }
        if (knownDirs.contains(parentRel)) {
            return root.resolve(parentRel);
        }
        Path alias = aliases.get(parentRel);
        if (alias != null) {
            return alias;
        }
        Deque<String> todo = new ArrayDeque<>(List.of(parentRel.split("/")));
        List<String> done = new ArrayList<>();
        int symlinks = 0;
        while (!todo.isEmpty()) {
            String part = todo.removeFirst();
            String prefix = done.isEmpty() ? part : String.join("/", done) + "/" + part;
            if (!knownDirs.contains(prefix)) {
                Path p = root.resolve(prefix);
                BasicFileAttributes attrs = LayerUnpacker.attributes(p);
                if (attrs == null) {
                    Lower lower = lookup(prefix, entry);
                    if (lower != null && lower.symlinkTarget() != null) {
                        if (++symlinks > MAX_SYMLINKS) {
                            throw new UnsafeEntryException(entry, "too many levels of symlinks (ELOOP) resolving '"
                                    + parentRel + "' through the lower layers");
                        }
                        // Continue from the symlink's target, then whatever followed the symlink.
                        String target = lower.symlinkTarget();
                        List<String> base = target.startsWith("/") ? new ArrayList<>() : new ArrayList<>(done);
                        for (String t : target.split("/")) {
                            if (t.isEmpty() || t.equals(".")) {
                                continue;
                            }
                            if (t.equals("..")) {
                                if (!base.isEmpty()) {
                                    base.removeLast();
                                }
                            } else {
                                base.add(t);
                            }
                        }
                        for (int i = base.size() - 1; i >= 0; i--) {
                            todo.addFirst(base.get(i));
                        }
                        done.clear();
                        continue;
                    }
                    Files.createDirectory(p);
                    if (lower != null) {
                        // overlayfs copy-up keeps the lower directory's owner and mode.
                        if (preserveOwners) {
                            FileSystemCalls.lchown(p, lower.uid(), lower.gid());
                        }
                        FileSystemCalls.chmod(p, lower.mode());
                    }
                } else if (attrs.isSymbolicLink()) {
                    throw new UnsafeEntryException(entry, "path passes through the symlink '" + prefix
                            + "' (it could point outside the layer)");
                } else if (!attrs.isDirectory()) {
                    throw new UnsafeEntryException(entry, "'" + prefix + "' is not a directory");
                }
                knownDirs.add(prefix);
            }
            done.add(part);
        }
        String resolved = String.join("/", done);
        Path dir = resolved.isEmpty() ? root : root.resolve(resolved);
        if (!resolved.equals(parentRel)) {
            aliases.put(parentRel, dir);
        }
        return dir;
    }

    /** What a lower layer has at {@code rel}: a directory (with mode and owner) or a symlink's target. */
    private record Lower(int mode, int uid, int gid, String symlinkTarget) {
    }

    /**
     * The topmost lower layer's entry at {@code rel}, or null when none has one (or a whiteout or
     * an opaque directory hides it). Each lower path is checked component by component without
     * following anything, so a lower layer's symlink never leads the lookup out of that layer.
     */
    private Lower lookup(String rel, String entry) throws IOException {
        if (lowerDirs == null) {
            lowerDirs = lowers.dirs();
        }
        String[] parts = rel.split("/");
        for (Path lowerRoot : lowerDirs) {
            Path p = lowerRoot;
            boolean opaque = false;
            boolean hidden = false;
            for (int i = 0; i < parts.length; i++) {
                p = p.resolve(parts[i]);
                BasicFileAttributes a = LayerUnpacker.attributes(p);
                if (a == null) {
                    break; // not in this lower layer; maybe in the next
                }
                int mode = (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                if ((mode & S_IFMT) == FileSystemCalls.S_IFCHR
                        && (long) Files.getAttribute(p, "unix:rdev", LinkOption.NOFOLLOW_LINKS) == 0) {
                    hidden = true; // a whiteout: deleted from here down
                    break;
                }
                if (i == parts.length - 1) {
                    if (a.isSymbolicLink()) {
                        return new Lower(0, 0, 0, Files.readSymbolicLink(p).toString());
                    }
                    if (!a.isDirectory()) {
                        throw new UnsafeEntryException(entry, "'" + rel + "' is not a directory in a lower layer");
                    }
                    return new Lower(mode & 07777, (int) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS),
                            (int) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS), null);
                }
                if (!a.isDirectory()) {
                    hidden = true; // a non-directory here hides whatever lower layers have below it
                    break;
                }
                byte[] o = FileSystemCalls.lgetxattr(p, "trusted.overlay.opaque");
                opaque |= o != null && o.length == 1 && o[0] == 'y';
            }
            if (hidden || opaque) {
                return null;
            }
        }
        return null;
    }
}
