package io.berth.shim;

import static io.berth.kernel.MountFlags.MS_BIND;
import static io.berth.kernel.MountFlags.MS_RDONLY;
import static io.berth.kernel.MountFlags.MS_REC;
import static io.berth.kernel.MountFlags.MS_REMOUNT;
import static io.berth.kernel.MountFlags.MS_SLAVE;
import static io.berth.shim.Steps.step;

import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.MountFlags;
import io.berth.kernel.Namespace;
import io.berth.kernel.Processes;
import io.berth.kernel.Spawn;
import io.berth.kernel.Syscalls;
import io.berth.kernel.cgroup.Cgroup;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.NamespaceRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The container's spawner: runs once, on its own fresh platform thread, which it taints for good
 * (DESIGN.md): unshare(CLONE_FS), join or create namespaces, build the rootfs, pivot_root, take
 * the container's credentials and security context, then posix_spawn the process held at the
 * start gate. glibc's posix_spawn returns only once the child has exec'd (after Start) or failed.
 * Everything the thread needs later (classes, JNA, other threads) is loaded before it starts.
 */
final class Spawner implements Runnable {
    /** Reported just before posix_spawn: the spawner's tid (to find the child) and the pty master. */
    record Ready(int tid, Fd ptyMaster) {
    }

    /** The child's fds 0-2 as fds of the shim (pipe ends), or null for /dev/null or the pty. */
    record Stdio(Fd stdin, Fd stdout, Fd stderr) {
    }

    /** The spawner thread's tid, as soon as it runs. */
    final CompletableFuture<Integer> started = new CompletableFuture<>();
    /**
     * The container's cgroup as the spawner needs it: what the container is shown of it at
     * /sys/fs/cgroup, and on v2 the cgroup namespace rooted at it for the child to be born in
     * (null: none; the spawner closes it).
     */
    record Placement(List<Cgroup.ViewEntry> view, Fd cgroupNamespace) {
    }

    /**
     * Completed by the shim once the container's cgroup is ready for the child: on cgroup v1 this
     * thread has been moved into it, so the child is born there. The spawner waits for it after
     * building the rest of the rootfs (the cgroup is made meanwhile) and fails with its failure.
     */
    final CompletableFuture<Placement> placed = new CompletableFuture<>();
    final CompletableFuture<Ready> ready = new CompletableFuture<>();
    final CompletableFuture<Integer> spawned = new CompletableFuture<>();
    /**
     * Completed just before posix_spawn: from then on the child shows in this thread's children
     * within a clone's time. The shim looks for it only then; polling /proc through the thread's
     * credential steps (interpreted, every 200 us) took ~5 ms of CPU from them per create.
     */
    final CompletableFuture<Void> spawning = new CompletableFuture<>();

    private final ContainerSpec spec;
    private final Path rootfs;
    private final Security security;
    private final Stdio stdio;

    Spawner(ContainerSpec spec, Path rootfs, Security security, Stdio stdio) {
        this.spec = spec;
        this.rootfs = rootfs;
        this.security = security;
        this.stdio = stdio;
    }

    /** Which namespaces to join (a non-empty path) and which to create (an empty one), from the spec. */
    static Map<Namespace, NamespaceRef> namespaces(ContainerSpec spec) {
        var m = new EnumMap<Namespace, NamespaceRef>(Namespace.class);
        for (NamespaceRef ref : spec.getNamespacesList()) {
            Namespace ns = switch (ref.getType()) {
                case NET -> Namespace.NET;
                case IPC -> Namespace.IPC;
                case UTS -> Namespace.UTS;
                case PID -> Namespace.PID;
                case MOUNT -> Namespace.MOUNT;
                case CGROUP -> Namespace.CGROUP;
                case UNRECOGNIZED -> throw new IllegalArgumentException("unknown namespace type in spec");
            };
            m.put(ns, ref);
        }
        return m;
    }

    /** A new namespace of this type: listed with an empty path (not listed: the host's). */
    private static boolean creates(Map<Namespace, NamespaceRef> ns, Namespace n) {
        return ns.containsKey(n) && ns.get(n).getPath().isEmpty();
    }

    /**
     * setns into the namespace at the ref's path. One of another container's process (owner_pid
     * set: PID mode TARGET) is joined only if, once its file is open, that pid is still the
     * process the agent saw: then the open file is that process's namespace, not that of a
     * process which took over the number after it exited.
     */
    private static void join(NamespaceRef ref, Namespace n) throws IOException {
        try (Fd fd = Syscalls.open(Path.of(ref.getPath()), Syscalls.O_RDONLY)) {
            if (ref.getOwnerPid() > 0) {
                long startTime = Processes.startTime(ref.getOwnerPid());
                if (startTime != ref.getOwnerStartTime()) {
                    throw new IOException("its process " + ref.getOwnerPid() + " has exited"
                            + (startTime < 0 ? "" : " (the pid now belongs to another process)"));
                }
            }
            Syscalls.setns(fd, n);
        }
    }

    @Override
    public void run() {
        try {
            Log.mark("spawner");
            int tid = Syscalls.gettid();
            started.complete(tid);
            Fd master = setUp();
            ready.complete(new Ready(tid, master));
            int pid = spawn(master);
            spawned.complete(pid);
        } catch (Throwable t) {
            // A namespace handed over but never joined (the rootfs failed first) is closed here.
            placed.thenAccept(p -> {
                if (p.cgroupNamespace() != null) p.cgroupNamespace().close();
            });
            started.completeExceptionally(t);
            ready.completeExceptionally(t);
            spawning.completeExceptionally(t);
            spawned.completeExceptionally(t);
        }
    }

    private Fd setUp() throws IOException {
        Map<Namespace, NamespaceRef> ns = namespaces(spec);
        if (ns.containsKey(Namespace.MOUNT) && !ns.get(Namespace.MOUNT).getPath().isEmpty()) {
            throw new IOException("joining an existing mount namespace is not supported (" + ns.get(Namespace.MOUNT).getPath() + ")");
        }
        step("unshare CLONE_FS", () -> Syscalls.unshare(Namespace.CLONE_FS));
        // Join pinned namespaces first, from the host mount namespace where the pins live.
        for (Namespace n : List.of(Namespace.NET, Namespace.IPC, Namespace.UTS, Namespace.CGROUP, Namespace.PID)) {
            NamespaceRef ref = ns.get(n);
            if (ref != null && !ref.getPath().isEmpty()) {
                step("join " + n + " namespace " + ref.getPath(), () -> join(ref, n));
            }
        }
        // The mount namespace is always new: the rootfs must never show on the host.
        int flags = Namespace.MOUNT.cloneFlag;
        for (Namespace n : List.of(Namespace.NET, Namespace.IPC, Namespace.UTS, Namespace.PID, Namespace.CGROUP)) {
            if (creates(ns, n)) flags |= n.cloneFlag;
        }
        int unshareFlags = flags;
        step("unshare " + Namespace.describe(flags), () -> Syscalls.unshare(unshareFlags));
        if (creates(ns, Namespace.UTS) && !spec.getHostname().isEmpty()) {
            step("sethostname " + spec.getHostname(), () -> Syscalls.sethostname(spec.getHostname()));
        }
        // rslave: host mounts still propagate in (kubelet volumes, rslave/rshared mounts), ours
        // never propagate out (runc's default rootfsPropagation).
        Log.mark("ns");
        step("make / rslave", () -> Syscalls.mount(null, Path.of("/"), null, MS_REC | MS_SLAVE, null));
        var rfs = new Rootfs(spec, rootfs);
        step("mount rootfs on " + rootfs, rfs::mountOverlay);
        Log.mark("overlay");
        step("create mount points in " + rootfs, rfs::mountPoints);
        step("mount /dev in " + rootfs, rfs::mountDev);
        step("mount /sys in " + rootfs, rfs::mountSys);
        Log.mark("dev-sys");
        step("mount the spec's mounts in " + rootfs, rfs::mountSpecMounts);
        step("create the start gate in " + rootfs, () -> rfs.makeGate(security.uid(), security.gid()));
        Fd master = null;
        if (spec.getProcess().getTty()) {
            Fd m = openPty();
            master = m;
        }
        String cwd = spec.getProcess().getCwd().isEmpty() ? "/" : spec.getProcess().getCwd();
        step("create working directory " + cwd, () -> {
            Path dir = InRoot.resolve(rootfs, cwd);
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                FileOps.chown(dir, security.uid(), security.gid());
            }
        });
        Log.mark("mounts");
        Placement placement = placed.join();
        if (placement.cgroupNamespace() != null) {
            step("join the container's cgroup namespace", () -> {
                try (Fd cgroupns = placement.cgroupNamespace()) {
                    Syscalls.setns(cgroupns, Namespace.CGROUP);
                }
            });
        }
        step("mount /sys/fs/cgroup in " + rootfs, () -> rfs.mountCgroups(placement.view()));
        Log.mark("cgroupfs");
        // pivot_root(".", ".") then detach the old root stacked on top (pivot_root(2) NOTES).
        step("pivot_root to " + rootfs, () -> {
            FileOps.chdir(rootfs);
            io.berth.kernel.Processes.pivotRoot(Path.of("."), Path.of("."));
            Syscalls.umount2(Path.of("."), MountFlags.MNT_DETACH);
            FileOps.chdir(Path.of("/"));
        });
        if (spec.getRootfs().getReadonly()) {
            step("remount / read-only", () -> Syscalls.mount(null, Path.of("/"), null, MS_BIND | MS_REMOUNT | MS_RDONLY, null));
        }
        step("chdir " + cwd, () -> FileOps.chdir(Path.of(cwd)));
        Log.mark("pivot");
        return master;
    }

    /** A pty from the container's own devpts instance; the slave is owned by the container's uid. */
    private Fd openPty() throws IOException {
        Path ptmx = rootfs.resolve("dev/pts/ptmx");
        Fd master = Syscalls.open(ptmx, Syscalls.O_RDWR | Syscalls.O_NOCTTY);
        try {
            FileOps.ioctlInt(master, 0x40045431L, 0, "TIOCSPTLCK"); // unlockpt(3)
            int n = FileOps.ioctlInt(master, 0x80045430L, 0, "TIOCGPTN"); // ptsname(3)
            FileOps.chown(rootfs.resolve("dev/pts/" + n), security.uid(), 5);
            ptyIndex = n;
            return master;
        } catch (RuntimeException e) {
            master.close();
            throw new IOException("open pty at " + ptmx + ": " + e.getMessage(), e);
        }
    }

    private int ptyIndex = -1;

    private int spawn(Fd master) throws IOException {
        List<String> args = spec.getProcess().getArgsList();
        if (args.isEmpty()) {
            throw new IOException("no process args for container " + spec.getId());
        }
        Path exe = lookPath(args.getFirst(), spec.getProcess().getEnvList());
        security.applyToThisThread();
        Log.mark("credentials");
        var s = new Spawn();
        // The gate first: the child blocks here, before exec, until Start opens the other end.
        s.open(3, Rootfs.GATE, Syscalls.O_RDONLY, 0).close(3);
        if (master != null) {
            // After POSIX_SPAWN_SETSID the first tty opened without O_NOCTTY becomes the
            // controlling terminal of the new session (credentials(7), tty_ioctl(4)).
            s.open(0, "/dev/pts/" + ptyIndex, Syscalls.O_RDWR, 0).dup2(0, 1).dup2(0, 2);
        } else {
            if (stdio.stdin() != null) s.dup2(stdio.stdin(), 0);
            else s.open(0, "/dev/null", Syscalls.O_RDONLY, 0);
            s.dup2(stdio.stdout(), 1).dup2(stdio.stderr(), 2);
        }
        spawning.complete(null);
        return s.spawn(exe, args, spec.getProcess().getEnvList());
    }

    /** execvp(3)'s search, in the container's root and with the container's PATH. */
    static Path lookPath(String file, List<String> env) throws IOException {
        if (file.contains("/")) {
            return Path.of(file);
        }
        String path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (String e : env) {
            if (e.startsWith("PATH=")) path = e.substring(5);
        }
        var tried = new ArrayList<String>();
        for (String dir : path.split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, file);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
            tried.add(p.toString());
        }
        throw new IOException("executable file " + file + " not found in $PATH (" + path + ")");
    }
}
