package io.berth.shim;

import static io.berth.kernel.MountFlags.MS_PRIVATE;
import static io.berth.kernel.MountFlags.MS_REC;
import static io.berth.shim.Steps.result;
import static io.berth.shim.Steps.step;

import io.berth.kernel.Errno;
import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.MountFlags;
import io.berth.kernel.Namespace;
import io.berth.kernel.NewMountApi;
import io.berth.kernel.Processes;
import io.berth.kernel.Spawn;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * /proc for a PID namespace on kernels whose procfs has no {@code pidns} parameter (Linux 5.2 to
 * 6.17). A procfs superblock shows the PID namespace of the process that creates it (fs/proc/root.c,
 * proc_init_fs_context: {@code task_active_pid_ns(current)}), and no JVM thread can be in another
 * PID namespace: setns(CLONE_NEWPID) only decides where the thread's children are born
 * (pid_namespaces(7)). So a short-lived helper, the host's mount(8), is born in the container's PID
 * namespace and mounts procfs on a directory of the bundle; this thread takes a detached copy of
 * that mount (open_tree OPEN_TREE_CLONE), unmounts the original and removes the directory, and
 * ProcSetup moves the copy onto the container's /proc exactly as it does a 6.18 mount.
 *
 * <p>The helper's mount never shows on the host: the thread first unshares a mount namespace of its
 * own and makes it rprivate, so nothing propagates to the host's shared peers, and a shim that dies
 * halfway leaves no mount (the namespace goes with its last thread). Nothing is needed in the
 * image: mount(8) runs from the host's root (kubelet needs it on every node for volumes). The
 * helper is pid 2 of a new PID namespace (the held container process is pid 1) and has exited,
 * and been reaped by its pid, before the container's process runs. In a joined namespace (a pod's
 * shared one, a TARGET container's) the other containers can see it for those few milliseconds;
 * they cannot ptrace it or reach its root without CAP_SYS_PTRACE (its permitted capabilities are
 * not a subset of theirs), only signal it, which fails this container's create.
 *
 * <p>The calling thread must be fresh and single-use: it is left in the throwaway mount namespace,
 * with its children's PID namespace set (DESIGN.md: such a thread is tainted for good).
 */
final class ProcHelper {
    /** Where mount(8) is looked for on the host, in this order. */
    static final List<Path> MOUNT_BINARIES = List.of(Path.of("/usr/bin/mount"), Path.of("/bin/mount"),
            Path.of("/usr/sbin/mount"), Path.of("/sbin/mount"));
    /** The helper's own directory in the bundle, mount point of its procfs while it lives. */
    static final String MOUNT_POINT = "proc-helper";
    /** mount(8) takes a few ms; one that takes this long is stuck and is killed. */
    static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    private static final int OUTPUT_CAP = 4096;

    private ProcHelper() {
    }

    /** What the helper did, for the shim's log. */
    record Mounted(Fd mount, Path binary, int helperPid) {
    }

    /**
     * A detached procfs mount of the PID namespace {@code pidns} (that of the container's pid
     * {@code pid}), made by a helper process born in it; {@code bundle} holds the helper's mount
     * point while it lives. Each failure names its step.
     */
    static Mounted mountProc(Path bundle, int pid, Fd pidns) throws IOException {
        Path mount = result("find mount(8) on the host", () -> HostTools.find(MOUNT_BINARIES));
        Path dir = bundle.resolve(MOUNT_POINT);
        step("create the helper's mount point " + dir, () -> Files.createDirectories(dir));
        Fd clone = null;
        int helperPid;
        try {
            step("unshare a private mount namespace for the helper", () -> {
                Syscalls.unshare(Namespace.CLONE_FS | Namespace.MOUNT.cloneFlag);
                // Mounts under a shared mount would propagate to the host's peers (mount_namespaces(7)).
                Syscalls.mount(null, Path.of("/"), null, MS_REC | MS_PRIVATE, null);
            });
            step("join the PID namespace of pid " + pid + " for the helper's birth", () -> Syscalls.setns(pidns, Namespace.PID));
            helperPid = runHelper(mount, dir, pid);
            Log.mark("proc-helper-reaped");
            clone = result("clone the helper's proc mount at " + dir, () -> NewMountApi.openTreeClone(dir));
        } catch (IOException | RuntimeException e) {
            IOException failure = e instanceof IOException io ? io : new IOException(e.getMessage(), e);
            removeMountPoint(dir, failure);
            throw failure;
        }
        try {
            removeMountPoint(dir, null);
        } catch (IOException e) {
            clone.close();
            throw e;
        }
        return new Mounted(clone, mount, helperPid);
    }

    /** Spawns mount(8) in the PID namespace this thread's children are born in; returns its pid once reaped. */
    private static int runHelper(Path mount, Path dir, int pid) throws IOException {
        List<String> argv = List.of("mount", "-n", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", dir.toString());
        String what = mount + " " + String.join(" ", argv.subList(1, argv.size()));
        // Non-blocking read end: output is read after the helper exited, and must not wait for a
        // process that inherited the write end and lives on.
        Fd[] out = FileOps.pipe("output of the proc helper", Syscalls.O_NONBLOCK);
        int helper;
        try (Fd read = out[0]) {
            try (Fd write = out[1]) {
                helper = result("spawn the helper " + what + " in the PID namespace of pid " + pid, () -> new Spawn()
                        .open(0, "/dev/null", Syscalls.O_RDONLY, 0).dup2(write, 1).dup2(write, 2)
                        .spawn(mount, argv, HostTools.ENV));
            }
            Log.mark("proc-helper-spawned");
            Processes.WaitStatus ws = await(helper, what);
            if (ws.exitCode() != 0) {
                String output = drain(read).strip();
                throw new IOException("helper " + what + " (pid " + helper + ") "
                        + (ws.signal() != 0 ? "was killed by signal " + ws.signal() : "exited with " + ws.exitCode())
                        + (output.isEmpty() ? "" : ": " + output));
            }
        }
        return helper;
    }

    /** Reaps the helper by its pid (never waitpid(-1): that would steal the JDK's statuses). */
    private static Processes.WaitStatus await(int helper, String what) throws IOException {
        long deadline = System.nanoTime() + TIMEOUT_NS;
        while (true) {
            Processes.WaitStatus ws = Processes.waitpid(helper, Processes.WNOHANG);
            if (ws != null) {
                return ws;
            }
            if (System.nanoTime() > deadline) {
                Syscalls.kill(helper, 9);
                Processes.waitpid(helper, 0);
                throw new IOException("helper " + what + " (pid " + helper + ") did not exit within "
                        + TimeUnit.NANOSECONDS.toSeconds(TIMEOUT_NS) + " s; killed");
            }
            // No new thread may wait for it: this thread has set its children's PID namespace.
            LockSupport.parkNanos(200_000);
        }
    }

    /** What the helper wrote, up to {@link #OUTPUT_CAP} bytes. */
    private static String drain(Fd read) {
        var out = new java.io.ByteArrayOutputStream();
        byte[] chunk = new byte[1024];
        try {
            int n;
            while (out.size() < OUTPUT_CAP && (n = FileOps.read(read, chunk)) > 0) {
                out.write(chunk, 0, n);
            }
        } catch (SyscallException e) {
            // EAGAIN: nothing more to read now
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Unmounts the helper's mount (in this thread's own mount namespace; nothing if it never got
     * there) and removes its mount point. A failure is attached to {@code failure} when there is
     * one, else thrown: nothing of the helper may be left behind.
     */
    private static void removeMountPoint(Path dir, IOException failure) throws IOException {
        try {
            try {
                Syscalls.umount2(dir, MountFlags.MNT_DETACH);
            } catch (SyscallException e) {
                if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) throw e;
            }
            Files.deleteIfExists(dir);
        } catch (IOException | RuntimeException e) {
            IOException cleanup = new IOException("remove the helper's mount point " + dir + ": " + e.getMessage(), e);
            if (failure == null) throw cleanup;
            failure.addSuppressed(cleanup);
        }
    }
}
