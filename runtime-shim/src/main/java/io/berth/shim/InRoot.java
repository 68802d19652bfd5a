package io.berth.shim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Resolves a container path against the rootfs on the host, following symlinks as if the rootfs
 * were "/" (like filepath-securejoin), so an image cannot point a mount target or a masked path
 * outside its root with a symlink such as {@code /etc -> /host/etc} or {@code ../../..}.
 */
final class InRoot {
    private InRoot() {
    }

    static Path resolve(Path root, String containerPath) throws IOException {
        Deque<String> todo = new ArrayDeque<>(List.of(containerPath.split("/")));
        Deque<String> done = new ArrayDeque<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String part = todo.pollFirst();
            if (part.isEmpty() || part.equals(".")) continue;
            if (part.equals("..")) {
                done.pollLast();
                continue;
            }
            Path candidate = join(root, done).resolve(part);
            if (Files.isSymbolicLink(candidate)) {
                if (++links > 255) throw new IOException("too many symlinks resolving " + containerPath + " in " + root);
                String target = Files.readSymbolicLink(candidate).toString();
                if (target.startsWith("/")) done.clear();
                String[] t = target.split("/");
                for (int i = t.length - 1; i >= 0; i--) todo.addFirst(t[i]);
                continue;
            }
            done.addLast(part);
        }
        return join(root, done);
    }

    private static Path join(Path root, Deque<String> parts) {
        Path p = root;
        for (String s : parts) p = p.resolve(s);
        return p;
    }

    static boolean isDir(Path p) {
        return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
    }
}
