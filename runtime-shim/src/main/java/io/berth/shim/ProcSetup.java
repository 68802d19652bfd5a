package io.berth.shim;

import static io.berth.kernel.MountFlags.MS_BIND;
import static io.berth.kernel.MountFlags.MS_RDONLY;
import static io.berth.kernel.MountFlags.MS_REC;
import static io.berth.kernel.MountFlags.MS_REMOUNT;

import io.berth.kernel.DedicatedThread;
import io.berth.kernel.Errno;
import io.berth.kernel.Fd;
import io.berth.kernel.Namespace;
import io.berth.kernel.NewMountApi;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import io.berth.shim.api.ContainerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;

/**
 * Mounts /proc for the held child and then masks and write-protects paths (most of them live in
 * /proc). /proc of a new PID namespace can only be mounted once its pid 1 exists, and a procfs
 * superblock shows the PID namespace it was made for:
 * <ul>
 * <li>Linux 6.18+: procfs takes the namespace as its {@code pidns} parameter, so a host-view thread
 *     builds the superblock with fsopen/fsconfig/fsmount (spike §2, method B);
 * <li>older kernels (fsconfig answers EINVAL), or {@code proc_mount = "helper"}: a helper process
 *     born in the container's PID namespace makes it ({@link ProcHelper}: spike §2 method A, with
 *     the host's mount(8) instead of a binary in the image);
 * <li>a container in the shim's own PID namespace (the host's) needs neither: fsopen from this thread.
 * </ul>
 * Then, from inside the container's mount namespace, the detached mount is move_mount()ed onto
 * /proc. That thread joins a mount namespace (and, for the helper, sets its children's PID
 * namespace), so it is a fresh single-use thread.
 */
final class ProcSetup {
    private ProcSetup() {
    }

    static void run(ContainerSpec spec, int pid) throws IOException {
        try {
            DedicatedThread.call("proc-" + pid, () -> {
                doRun(spec, pid);
                return null;
            });
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw io;
            throw new IOException(c.getMessage(), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted mounting /proc", e);
        }
    }

    private static void doRun(ContainerSpec spec, int pid) throws IOException {
        // The PID namespace of the container's own pid 1, new or joined (a pod's shared one, a
        // TARGET container's, the host's): procfs otherwise shows the namespace of whoever mounts it.
        try (Fd pidns = namespace(pid, "pid"); Fd mnt = namespace(pid, "mnt"); Fd procMount = procMount(spec, pid, pidns)) {
            Syscalls.unshare(Namespace.CLONE_FS);
            Syscalls.setns(mnt, Namespace.MOUNT);
            // From here on, paths resolve in the container (root = its pivoted root).
            try {
                NewMountApi.moveMount(procMount, Path.of("/proc"));
            } catch (SyscallException e) {
                throw new IOException("move_mount proc to /proc in container " + spec.getId() + ": " + e.getMessage(), e);
            }
            for (String p : spec.getMaskedPathsList()) {
                mask(spec, Path.of(p));
            }
            for (String p : spec.getReadonlyPathsList()) {
                readonly(spec, Path.of(p));
            }
        }
    }

    private static Fd namespace(int pid, String type) throws IOException {
        Path path = Path.of("/proc/" + pid + "/ns/" + type);
        try {
            return Syscalls.open(path, Syscalls.O_RDONLY);
        } catch (SyscallException e) {
            throw new IOException("open the " + type + " namespace of pid " + pid + ": " + e.getMessage(), e);
        }
    }

    /** A detached procfs mount of the PID namespace {@code pidns}, made the first way this kernel allows. */
    private static Fd procMount(ContainerSpec spec, int pid, Fd pidns) throws IOException {
        boolean forced = spec.getProcMount() == ContainerSpec.ProcMount.HELPER;
        if (!forced) {
            Fd m = superblock(pid, pidns);
            if (m != null) {
                return m;
            }
        }
        if (inShimsPidNamespace(pid)) {
            // The host's PID namespace (hostPID): the shim is in it, so a procfs of its own is the one.
            return superblock(pid, null);
        }
        long t0 = System.nanoTime();
        ProcHelper.Mounted m;
        try {
            m = ProcHelper.mountProc(Path.of(spec.getBundle()), pid, pidns);
        } catch (IOException e) {
            throw new IOException("mount proc for pid " + pid + " through a helper: " + e.getMessage(), e);
        }
        Log.info("container " + spec.getId() + ": /proc made through a helper ("
                + (forced ? "proc_mount is helper" : "this kernel's procfs has no pidns parameter, Linux 6.18+")
                + "): " + m.binary() + " as pid " + m.helperPid() + " in the container's PID namespace, exited and"
                + " reaped, in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        return m.mount();
    }

    /**
     * fsopen("proc") + fsconfig + fsmount: with {@code pidns} as the pidns parameter, or without one
     * (then the superblock shows this thread's PID namespace). Null when the kernel's procfs has no
     * pidns parameter (before Linux 6.18: fsconfig fails with EINVAL).
     */
    private static Fd superblock(int pid, Fd pidns) throws IOException {
        try (Fd fs = NewMountApi.fsopen("proc")) {
            if (pidns != null) {
                try {
                    NewMountApi.setFd(fs, "pidns", pidns);
                } catch (SyscallException e) {
                    if (e.errno() == Errno.EINVAL) return null;
                    throw e;
                }
            }
            NewMountApi.create(fs);
            return NewMountApi.fsmount(fs, NewMountApi.MOUNT_ATTR_NOSUID | NewMountApi.MOUNT_ATTR_NODEV
                    | NewMountApi.MOUNT_ATTR_NOEXEC);
        } catch (SyscallException e) {
            if (e.call().equals("fsopen") && e.errno() == Errno.ENOSYS) {
                throw new IOException("mount proc for pid " + pid + ": this kernel lacks the new mount API"
                        + " (fsopen, Linux 5.2+), which berth needs", e);
            }
            throw new IOException("mount proc for pid " + pid + ": " + e.getMessage(), e);
        }
    }

    private static boolean inShimsPidNamespace(int pid) throws IOException {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/pid"))
                    .equals(Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/pid")));
        } catch (IOException e) {
            throw new IOException("compare the PID namespaces of the shim and pid " + pid + ": " + e.getMessage(), e);
        }
    }

    /** runc's maskPath: a read-only empty tmpfs over a directory, /dev/null bound over a file. */
    private static void mask(ContainerSpec spec, Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                Syscalls.mount("tmpfs", p, "tmpfs", MS_RDONLY, null);
            } else {
                Syscalls.mount("/dev/null", p, null, MS_BIND, null);
            }
        } catch (SyscallException e) {
            if (e.errno() == Errno.ENOENT) return;
            throw new IOException("mask " + p + " in container " + spec.getId() + ": " + e.getMessage(), e);
        }
    }

    /** runc's readonlyPath: bind the path onto itself, then remount that bind read-only. */
    private static void readonly(ContainerSpec spec, Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Syscalls.mount(p.toString(), p, null, MS_BIND | MS_REC, null);
            Syscalls.mount(null, p, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, null);
        } catch (SyscallException e) {
            if (e.errno() == Errno.ENOENT) return;
            throw new IOException("make " + p + " read-only in container " + spec.getId() + ": " + e.getMessage(), e);
        }
    }
}
