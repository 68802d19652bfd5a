package io.berth.agent.container;

import io.berth.agent.domain.BerthException;
import io.berth.kernel.FileOps;
import io.berth.kernel.cgroup.DeviceRule;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Resolves the CRI's ContainerConfig.devices against the host's device nodes, as containerd does
 * (pkg/oci WithDevices/getDevices, the CRI plugin's WithDevices):
 * <ul>
 * <li>a host_path that is a node (symlinks followed, as udev's /dev/disk/by-id names are) gives one
 *     device at container_path (the host path when container_path is empty);</li>
 * <li>a host_path that is a directory gives every node below it, at the same relative path under
 *     container_path; symlinks, FIFOs, other files, {@code console} and the pts/shm/fd/mqueue and
 *     .lxc/.lxd-mounts/.udev directories are skipped;</li>
 * <li>each node keeps the host node's type, major:minor, permission bits and owner, and is allowed
 *     in the device cgroup with the request's permissions ({@code rwm} when empty).</li>
 * </ul>
 * Anything else is the caller's mistake and refused with INVALID_ARGUMENT naming the device.
 */
final class HostDevices {
    /** Directories a directory host_path's walk skips (containerd getDevices, after runc). */
    private static final Set<String> SKIPPED_DIRS = Set.of("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev");

    private HostDevices() {
    }

    static List<ContainerPlan.Device> resolve(String container, List<ContainerRequest.Device> requested) {
        var out = new ArrayList<ContainerPlan.Device>();
        for (var d : requested) {
            out.addAll(resolve(container, d));
        }
        return out;
    }

    static List<ContainerPlan.Device> resolve(String container, ContainerRequest.Device d) {
        String permissions = d.permissions().isEmpty() ? "rwm" : d.permissions();
        String containerPath = d.containerPath().isEmpty() ? d.hostPath() : d.containerPath();
        if (d.hostPath().isEmpty()) {
            throw refused(container, d, "it has no host_path");
        }
        if (!d.hostPath().startsWith("/")) {
            throw refused(container, d, "host_path is not absolute");
        }
        if (!containerPath.startsWith("/")) {
            throw refused(container, d, "container_path is not absolute");
        }
        if (!DeviceRule.isAccess(permissions)) {
            throw refused(container, d, "permissions '" + permissions + "' are not a subset of \"rwm\"");
        }
        Path host = Path.of(d.hostPath());
        try {
            if (Files.isDirectory(host)) {
                var out = new ArrayList<ContainerPlan.Device>();
                walk(host, Path.of(containerPath), permissions, out);
                return out;
            }
            var node = node(host.toRealPath(), containerPath, permissions);
            if (node == null) {
                throw refused(container, d, "host_path is not a character or block device");
            }
            return List.of(node);
        } catch (NoSuchFileException e) {
            throw refused(container, d, "host_path does not exist");
        } catch (IOException e) {
            throw refused(container, d, "cannot read host_path: " + e);
        }
    }

    private static void walk(Path dir, Path containerDir, String permissions, List<ContainerPlan.Device> out)
            throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    if (!SKIPPED_DIRS.contains(name)) {
                        walk(p, containerDir.resolve(name), permissions, out);
                    }
                } else if (!name.equals("console")) {
                    try {
                        var node = node(p, containerDir.resolve(name).toString(), permissions);
                        if (node != null) out.add(node);
                    } catch (NoSuchFileException e) {
                        // removed meanwhile (udev): skipped, as containerd does
                    }
                }
            }
        }
    }

    /** The device at {@code host} (not followed if a symlink), or null when it is no char or block node. */
    private static ContainerPlan.Device node(Path host, String containerPath, String permissions) throws IOException {
        Map<String, Object> a = Files.readAttributes(host, "unix:mode,rdev,uid,gid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        String type = switch (mode & FileOps.S_IFMT) {
            case FileOps.S_IFCHR -> "c";
            case FileOps.S_IFBLK -> "b";
            default -> null;
        };
        if (type == null) {
            return null;
        }
        long rdev = (Long) a.get("rdev");
        return new ContainerPlan.Device(containerPath, type, FileOps.major(rdev), FileOps.minor(rdev), mode & 07777,
                Integer.toUnsignedLong((Integer) a.get("uid")), Integer.toUnsignedLong((Integer) a.get("gid")),
                permissions);
    }

    private static BerthException refused(String container, ContainerRequest.Device d, String why) {
        return BerthException.invalid("container " + container + ": device " + d.hostPath()
                + (d.containerPath().isEmpty() ? "" : " -> " + d.containerPath())
                + (d.permissions().isEmpty() ? "" : " (" + d.permissions() + ")") + ": " + why);
    }
}
