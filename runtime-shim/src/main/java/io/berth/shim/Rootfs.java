package io.berth.shim;

import static io.berth.kernel.MountFlags.MS_BIND;
import static io.berth.kernel.MountFlags.MS_NODEV;
import static io.berth.kernel.MountFlags.MS_NOEXEC;
import static io.berth.kernel.MountFlags.MS_NOSUID;
import static io.berth.kernel.MountFlags.MS_PRIVATE;
import static io.berth.kernel.MountFlags.MS_RDONLY;
import static io.berth.kernel.MountFlags.MS_REC;
import static io.berth.kernel.MountFlags.MS_REMOUNT;
import static io.berth.kernel.MountFlags.MS_SHARED;
import static io.berth.kernel.MountFlags.MS_SLAVE;
import static io.berth.kernel.MountFlags.MS_STRICTATIME;

import io.berth.kernel.FileOps;
import io.berth.kernel.MountFlags;
import io.berth.kernel.Syscalls;
import io.berth.kernel.cgroup.Cgroup;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.Device;
import io.berth.shim.api.Mount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Builds the container's root file system on the spawner thread, inside its new private mount
 * namespace and before pivot_root, using host paths under BUNDLE/rootfs. Nothing here is visible
 * in the host's mount table, and the kernel drops all of it with the namespace's last process, so
 * there is nothing to undo on the host. The order follows runc's rootfs_linux.go.
 */
final class Rootfs {
    static final String GATE = "/dev/.berth-start";
    static final Path CGROUP_MOUNT = Path.of("/sys/fs/cgroup");

    private final ContainerSpec spec;
    private final Path root;

    Rootfs(ContainerSpec spec, Path root) {
        this.spec = spec;
        this.root = root;
    }

    /**
     * overlayfs with the image layers as lowerdir (overlayfs wants the TOP layer first: reverse the
     * image store's lowest-first order), the container's upperdir and workdir (Documentation/
     * filesystems/overlayfs.rst). Mount data is limited to one page, so long layer lists are
     * given relative to their common parent after chdir there (containerd does the same).
     */
    void mountOverlay() throws IOException {
        var rootfs = spec.getRootfs();
        List<String> lowers = new ArrayList<>(rootfs.getLowerDirsList());
        if (lowers.isEmpty()) {
            throw new IOException("rootfs of " + spec.getId() + ": no lower dirs");
        }
        java.util.Collections.reverse(lowers);
        if (rootfs.getUpperDir().isEmpty() && lowers.size() == 1) {
            // overlayfs needs two lower layers without an upper one: a read-only bind does the same.
            Syscalls.mount(lowers.getFirst(), root, null, MS_BIND | MS_REC, null);
            Syscalls.mount(null, root, null, MS_BIND | MS_REMOUNT | MS_RDONLY, null);
            return;
        }
        String data = options(lowers, rootfs.getUpperDir(), rootfs.getWorkDir());
        if (data.length() > 4000) {
            Path common = commonParent(lowers, rootfs.getUpperDir(), rootfs.getWorkDir());
            FileOps.chdir(common);
            var rel = lowers.stream().map(l -> common.relativize(Path.of(l)).toString()).toList();
            data = options(rel, rootfs.getUpperDir().isEmpty() ? "" : common.relativize(Path.of(rootfs.getUpperDir())).toString(),
                    rootfs.getWorkDir().isEmpty() ? "" : common.relativize(Path.of(rootfs.getWorkDir())).toString());
        }
        Syscalls.mount("overlay", root, "overlay", 0, data);
    }

    private static String options(List<String> lowers, String upper, String work) {
        String o = "lowerdir=" + String.join(":", lowers);
        if (!upper.isEmpty()) o += ",upperdir=" + upper + ",workdir=" + work;
        return o;
    }

    private static Path commonParent(List<String> lowers, String upper, String work) {
        Path c = Path.of(lowers.getFirst()).getParent();
        var all = new ArrayList<>(lowers);
        if (!upper.isEmpty()) all.add(upper);
        if (!work.isEmpty()) all.add(work);
        for (String p : all) {
            while (!Path.of(p).startsWith(c)) c = c.getParent();
        }
        return c;
    }

    /** The directories every container needs as mount points. */
    void mountPoints() throws IOException {
        for (String d : List.of("proc", "dev", "sys")) {
            Path p = root.resolve(d);
            if (!Files.isDirectory(p)) Files.createDirectories(p);
        }
    }

    /**
     * /dev: a small tmpfs with the standard nodes (OCI runtime spec config-linux.md "Default
     * Devices"), the standard symlinks, a private devpts instance, /dev/shm and /dev/mqueue.
     * Privileged containers get every host device node instead of the standard set.
     */
    void mountDev() throws IOException {
        Path dev = root.resolve("dev");
        Syscalls.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
        if (spec.getPrivileged()) {
            copyHostDevices(Path.of("/dev"), dev);
        } else {
            int[][] nodes = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}};
            String[] names = {"null", "zero", "full", "random", "urandom", "tty"};
            for (int i = 0; i < names.length; i++) {
                FileOps.mknod(dev.resolve(names[i]), FileOps.S_IFCHR | 0666, FileOps.makedev(nodes[i][0], nodes[i][1]));
            }
        }
        // The CRI's devices, at their container paths (parents made, anything there replaced), with
        // the host node's numbers, mode and owner, as runc's createDeviceNode does with mknod.
        for (Device d : spec.getDevicesList()) {
            Path p = InRoot.resolve(root, d.getPath());
            Files.createDirectories(p.getParent());
            Files.deleteIfExists(p);
            int type = d.getType().equals("b") ? FileOps.S_IFBLK : FileOps.S_IFCHR;
            FileOps.mknod(p, type | (d.getFileMode() & 07777), FileOps.makedev((int) d.getMajor(), (int) d.getMinor()));
            FileOps.chown(p, d.getUid(), d.getGid());
        }
        String[][] links = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
            {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"}};
        for (String[] l : links) {
            if (!Files.exists(dev.resolve(l[1]), LinkOption.NOFOLLOW_LINKS)) FileOps.symlink(l[0], dev.resolve(l[1]));
        }
        for (String d : List.of("pts", "shm", "mqueue")) {
            Files.createDirectories(dev.resolve(d));
        }
        // newinstance: the container's ptys are its own, not the host's (devpts docs).
        Syscalls.mount("devpts", dev.resolve("pts"), "devpts", MS_NOSUID | MS_NOEXEC,
                "newinstance,ptmxmode=0666,mode=0620,gid=5");
        Syscalls.mount("shm", dev.resolve("shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
        // mqueue belongs to the IPC namespace the thread is in (mq_overview(7)).
        Syscalls.mount("mqueue", dev.resolve("mqueue"), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
    }

    private static void copyHostDevices(Path hostDev, Path dev) throws IOException {
        try (Stream<Path> s = Files.walk(hostDev)) {
            for (Path p : s.toList()) {
                Path rel = hostDev.relativize(p);
                if (rel.toString().isEmpty() || rel.startsWith("pts") || rel.startsWith("shm") || rel.startsWith("mqueue")) {
                    continue;
                }
                Path target = dev.resolve(rel.toString());
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(target);
                    continue;
                }
                int mode;
                try {
                    mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                } catch (IOException e) {
                    continue;
                }
                int type = mode & 0170000;
                if (type == 0020000 || type == 0060000) {
                    long rdev = (Long) Files.getAttribute(p, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
                    Files.createDirectories(target.getParent());
                    FileOps.mknod(target, mode, rdev);
                }
            }
        }
    }

    /** sysfs, read-only unless privileged (runc's default mount list). */
    void mountSys() {
        long ro = spec.getPrivileged() ? 0 : MS_RDONLY;
        Syscalls.mount("sysfs", root.resolve("sys"), "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, null);
    }

    /**
     * /sys/fs/cgroup as runc mounts it for a container without a cgroup namespace: the directories
     * of the container's own cgroup ({@link Cgroup#containerView}), read-only unless privileged.
     * A program that sizes itself by its limits (a JVM's heap, a Go runtime's GOMAXPROCS) finds
     * them where the mount table and /proc/self/cgroup say. On v1 the hierarchies sit in a small
     * tmpfs, itself read-only once they are in. Skipped when a spec mount covers /sys/fs/cgroup.
     */
    void mountCgroups(List<Cgroup.ViewEntry> view) throws IOException {
        for (Mount m : spec.getMountsList()) {
            Path dest = Path.of(m.getDestination()).normalize();
            if (dest.getNameCount() > 0 && CGROUP_MOUNT.startsWith(dest)) {
                return;
            }
        }
        Path target = root.resolve(CGROUP_MOUNT.toString().substring(1));
        long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (spec.getPrivileged() ? 0 : MS_RDONLY);
        if (view.size() == 1 && view.getFirst().name().isEmpty()) {
            bind(view.getFirst().source(), target, flags);
            return;
        }
        Syscalls.mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k");
        for (Cgroup.ViewEntry e : view) {
            Path at = target.resolve(e.name());
            if (e.link() != null) {
                Files.createSymbolicLink(at, Path.of(e.link()));
            } else {
                Files.createDirectory(at);
                bind(e.source(), at, flags);
            }
        }
        Syscalls.mount(null, target, null, MS_REMOUNT | flags, null);
    }

    /** A bind mount with {@code flags}, which only a remount of the bind applies (mount(2)). */
    private static void bind(Path source, Path target, long flags) {
        Syscalls.mount(source.toString(), target, null, MS_BIND, null);
        Syscalls.mount(null, target, null, MS_BIND | MS_REMOUNT | flags, null);
    }

    /** The spec's mounts (CRI volumes, /etc/hosts, /etc/resolv.conf, /etc/hostname, ...). */
    void mountSpecMounts() throws IOException {
        for (Mount m : spec.getMountsList()) {
            Path target = InRoot.resolve(root, m.getDestination());
            long flags = 0;
            var data = new ArrayList<String>();
            boolean recursive = false;
            for (String o : m.getOptionsList()) {
                switch (o) {
                    case "ro" -> flags |= MS_RDONLY;
                    case "rw" -> { }
                    case "nosuid" -> flags |= MS_NOSUID;
                    case "nodev" -> flags |= MS_NODEV;
                    case "noexec" -> flags |= MS_NOEXEC;
                    case "bind" -> flags |= MS_BIND;
                    case "rbind" -> { flags |= MS_BIND; recursive = true; }
                    case "strictatime" -> flags |= MS_STRICTATIME;
                    case "relatime" -> flags |= MountFlags.MS_RELATIME;
                    case "noatime" -> flags |= MountFlags.MS_NOATIME;
                    case "private", "rprivate", "slave", "rslave", "shared", "rshared", "suid", "dev", "exec" -> { }
                    default -> data.add(o);
                }
            }
            if (m.getReadonly()) flags |= MS_RDONLY;
            boolean bind = m.getType().equals("bind") || m.getType().isEmpty() || (flags & MS_BIND) != 0;
            if (bind) {
                Path source = Path.of(m.getSource());
                if (!Files.exists(source)) {
                    throw new IOException("mount " + m.getSource() + " on " + m.getDestination() + ": source does not exist");
                }
                prepareTarget(target, Files.isDirectory(source));
                // CRI bind mounts are recursive (kubelet volumes may contain mounts); rbind as runc.
                Syscalls.mount(m.getSource(), target, null, MS_BIND | MS_REC, null);
                long keep = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
                if (keep != 0) {
                    // bind ignores other flags; they take effect on a remount of the bind (mount(2)).
                    Syscalls.mount(null, target, null, MS_BIND | MS_REMOUNT | keep, null);
                }
            } else {
                prepareTarget(target, true);
                Syscalls.mount(m.getSource().isEmpty() ? m.getType() : m.getSource(), target, m.getType(), flags,
                        data.isEmpty() ? null : String.join(",", data));
            }
            long propagation = switch (m.getPropagation()) {
                case RSLAVE -> MS_SLAVE | MS_REC;
                case RSHARED -> MS_SHARED | MS_REC;
                default -> MS_PRIVATE | (recursive || bind ? MS_REC : 0);
            };
            Syscalls.mount(null, target, null, propagation, null);
        }
    }

    private static void prepareTarget(Path target, boolean dir) throws IOException {
        if (dir) {
            Files.createDirectories(target);
        } else if (!Files.exists(target)) {
            Files.createDirectories(target.getParent());
            Files.createFile(target);
        }
    }

    /** The start gate: a FIFO the child opens (and blocks in) before exec, owned by its uid (spike §2). */
    void makeGate(int uid, int gid) {
        Path gate = root.resolve(GATE.substring(1));
        FileOps.mknod(gate, FileOps.S_IFIFO | 0600, 0);
        FileOps.chown(gate, uid, gid);
    }
}
