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
 * /proc). /proc of a new PID namespace can only be mounted once its pid 1 exists; on Linux 6.18+
 * procfs takes the namespace as its {@code pidns} parameter, so a host-view thread builds the
 * superblock with fsopen/fsconfig/fsmount and then, from inside the container's mount namespace,
 * move_mount()s it onto /proc (spike §2, method B). That thread joins a mount namespace, so it is
 * a fresh single-use thread.
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
        Path procPid = Path.of("/proc/" + pid);
        Fd procMount;
        try (Fd fs = NewMountApi.fsopen("proc")) {
            // The PID namespace of the container's own pid 1, new or joined (a pod's shared one, the
            // host's): procfs otherwise shows the namespace of the thread that mounts it, the host's.
            try (Fd pidns = Syscalls.open(procPid.resolve("ns/pid"), Syscalls.O_RDONLY)) {
                NewMountApi.setFd(fs, "pidns", pidns);
            } catch (SyscallException e) {
                if (e.call().equals("fsconfig") && e.errno() == Errno.EINVAL) {
                    throw new IOException("mount /proc for pid " + pid + ": this kernel's procfs has no pidns "
                            + "parameter (Linux 6.18+ needed; the in-container helper fallback is not implemented)", e);
                }
                throw e;
            }
            NewMountApi.create(fs);
            procMount = NewMountApi.fsmount(fs, NewMountApi.MOUNT_ATTR_NOSUID | NewMountApi.MOUNT_ATTR_NODEV
                    | NewMountApi.MOUNT_ATTR_NOEXEC);
        } catch (SyscallException e) {
            throw new IOException("mount proc for pid " + pid + ": " + e.getMessage(), e);
        }
        try (procMount; Fd mnt = Syscalls.open(procPid.resolve("ns/mnt"), Syscalls.O_RDONLY)) {
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
