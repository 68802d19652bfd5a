package io.berth.shim;

import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.Processes;
import io.berth.kernel.Spawn;
import io.berth.kernel.Syscalls;
import io.berth.kernel.cgroup.Cgroup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A private cgroup namespace rooted at a container's v2 cgroup, as containerd makes one for an
 * unprivileged container on a cgroup v2 node: inside, /proc/self/cgroup reads {@code 0::/} and
 * the container cannot see where the node keeps it.
 *
 * <p>A cgroup namespace is rooted at its creator's cgroup at the moment it is made, and no thread
 * of the shim can be in the container's cgroup (v2 moves whole processes only). So a helper from
 * the host makes it: the host's /bin/sh, spawned waiting on a pipe, is placed in the cgroup by
 * pid and then told to go on; it execs unshare(1) {@code --cgroup}, which execs sleep. Once the
 * helper's namespace is no longer the shim's, the shim opens it, then kills and reaps the helper
 * by its pid. The namespace lives on in that fd; the spawner joins it (setns) before it spawns the
 * container's process, which is then placed in the cgroup as on any v2 node. Nothing is needed
 * in the image: unshare(1) and sh come with every node's util-linux and base system.
 */
final class CgroupNamespace {
    static final List<Path> UNSHARE = List.of(Path.of("/usr/bin/unshare"), Path.of("/bin/unshare"));
    static final Path SH = Path.of("/bin/sh");
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    private CgroupNamespace() {
    }

    /** A cgroup namespace rooted at {@code cgroup}, as an fd of its nsfs file. */
    static Fd rootedAt(Cgroup cgroup) throws IOException {
        Path unshare = HostTools.find(UNSHARE);
        String own = Files.readSymbolicLink(Path.of("/proc/self/ns/cgroup")).toString();
        Fd[] go = FileOps.pipe("go of the cgroup namespace helper");
        int pid;
        try (Fd read = go[0]) {
            pid = new Spawn().dup2(read, 0).open(1, "/dev/null", Syscalls.O_WRONLY, 0)
                    .open(2, "/dev/null", Syscalls.O_WRONLY, 0)
                    .spawn(SH, List.of("sh", "-c", "read go && exec \"$0\" --cgroup sleep 10", unshare.toString()), HostTools.ENV);
        } catch (RuntimeException e) {
            go[1].close();
            throw new IOException("spawn " + SH + " to make a cgroup namespace: " + e.getMessage(), e);
        }
        try (Fd write = go[1]) {
            cgroup.addProcess(pid);
            FileOps.writeAll(write, "\n".getBytes(StandardCharsets.US_ASCII), 1);
            Path ns = Path.of("/proc/" + pid + "/ns/cgroup");
            long deadline = System.nanoTime() + TIMEOUT_NS;
            while (Files.readSymbolicLink(ns).toString().equals(own)) {
                if (Processes.waitpid(pid, Processes.WNOHANG) != null) {
                    pid = -1; // reaped: nothing to kill below
                    throw new IOException(unshare + " --cgroup exited before it made a namespace");
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException(unshare + " --cgroup made no namespace within 10 s");
                }
                LockSupport.parkNanos(100_000);
            }
            return Syscalls.open(ns, Syscalls.O_RDONLY);
        } catch (IOException | RuntimeException e) {
            throw new IOException("make the cgroup namespace of " + cgroup.path() + ": " + e.getMessage(), e);
        } finally {
            if (pid > 0) {
                Syscalls.kill(pid, 9);
                Processes.waitpid(pid, 0);
            }
        }
    }
}
