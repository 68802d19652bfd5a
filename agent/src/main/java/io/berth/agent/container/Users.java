package io.berth.agent.container;

import io.berth.agent.domain.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves a user name or "user:group" against the image's /etc/passwd and /etc/group (passwd(5),
 * group(5)), reading the topmost layer that has the file, as runc does inside the rootfs.
 */
final class Users {
    private Users() {
    }

    record Resolved(long uid, long gid, List<Long> groups) {
    }

    /**
     * @param user      "uid", "uid:gid", "name" or "name:group" (the image's User, or run_as_username)
     * @param layerDirs the image layers, lowest first
     */
    static Resolved resolve(String user, List<String> layerDirs) {
        if (user == null || user.isEmpty()) {
            return new Resolved(0, 0, List.of());
        }
        String[] parts = user.split(":", 2);
        long uid;
        long gid;
        String name = null;
        if (isNumber(parts[0])) {
            uid = Long.parseLong(parts[0]);
            String[] entry = find(layerDirs, "etc/passwd", 2, parts[0]);
            gid = entry != null ? Long.parseLong(entry[3]) : 0;
            if (entry != null) name = entry[0];
        } else {
            String[] entry = find(layerDirs, "etc/passwd", 0, parts[0]);
            if (entry == null) {
                throw BerthException.invalid("user '" + parts[0] + "' is not in the image's /etc/passwd");
            }
            uid = Long.parseLong(entry[2]);
            gid = Long.parseLong(entry[3]);
            name = entry[0];
        }
        if (parts.length == 2) {
            if (isNumber(parts[1])) {
                gid = Long.parseLong(parts[1]);
            } else {
                String[] group = find(layerDirs, "etc/group", 0, parts[1]);
                if (group == null) {
                    throw BerthException.invalid("group '" + parts[1] + "' is not in the image's /etc/group");
                }
                gid = Long.parseLong(group[2]);
            }
        }
        return new Resolved(uid, gid, name == null ? List.of() : memberships(layerDirs, name, gid));
    }

    /** The groups of /etc/group that list {@code name} as a member, besides its primary group. */
    private static List<Long> memberships(List<String> layerDirs, String name, long primary) {
        var out = new ArrayList<Long>();
        Path file = topmost(layerDirs, "etc/group");
        if (file == null) return out;
        for (String[] g : entries(file)) {
            if (g.length >= 4 && List.of(g[3].split(",")).contains(name)) {
                long gid = Long.parseLong(g[2]);
                if (gid != primary) out.add(gid);
            }
        }
        return out;
    }

    private static String[] find(List<String> layerDirs, String file, int column, String value) {
        Path path = topmost(layerDirs, file);
        if (path == null) return null;
        for (String[] e : entries(path)) {
            if (e.length > column && e[column].equals(value)) return e;
        }
        return null;
    }

    private static Path topmost(List<String> layerDirs, String file) {
        for (int i = layerDirs.size() - 1; i >= 0; i--) {
            Path p = Path.of(layerDirs.get(i)).resolve(file);
            if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return p;
        }
        return null;
    }

    private static List<String[]> entries(Path file) {
        try {
            return Files.readAllLines(file).stream()
                    .filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .map(l -> l.split(":", -1))
                    .filter(e -> e.length >= 3 && isNumber(e[2]))
                    .toList();
        } catch (IOException e) {
            throw BerthException.invalid("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
    }
}
