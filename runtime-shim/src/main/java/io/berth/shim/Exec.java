package io.berth.shim;

import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.Namespace;
import io.berth.kernel.Processes;
import io.berth.kernel.Spawn;
import io.berth.kernel.Syscalls;
import io.berth.shim.api.ExecRequest;
import io.berth.shim.api.ExecResponse;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * ExecSync: a further process in the container's namespaces, cgroup and security context, with
 * its output captured (capped at 16 MiB per stream, as kubelet and containerd cap ExecSync).
 * The spawning thread is fresh and single-use: it joins the container's mount and PID namespaces.
 */
final class Exec {
    static final int OUTPUT_CAP = 16 * 1024 * 1024;
    /** Numbers the v2 exec gates of this shim. */
    private static final java.util.concurrent.atomic.AtomicInteger GATES = new java.util.concurrent.atomic.AtomicInteger();

    private Exec() {
    }

    static ExecResponse run(Container c, ExecRequest req) throws IOException {
        if (req.getTty()) {
            throw new IOException("exec in " + c.spec().getId() + ": tty is not supported for captured-output exec");
        }
        if (req.getArgsCount() == 0) {
            throw new IOException("exec in " + c.spec().getId() + ": no args");
        }
        Fd[] out = FileOps.pipe("exec stdout");
        Fd[] err = FileOps.pipe("exec stderr");
        Fd[] in = FileOps.pipe("exec stdin");
        var outSink = new Pump.Capped(OUTPUT_CAP);
        var errSink = new Pump.Capped(OUTPUT_CAP);
        Thread outPump = Pump.start("exec-stdout", out[0], outSink);
        Thread errPump = Pump.start("exec-stderr", err[0], errSink);
        byte[] input = req.getStdin().toByteArray();
        Fd stdinWrite = in[1];
        Thread.ofPlatform().name("exec-stdin").daemon(true).start(() -> {
            try (stdinWrite) {
                if (input.length > 0) FileOps.writeAll(stdinWrite, input, input.length);
            } catch (RuntimeException e) {
                // the process did not read its input; not an error of the exec itself
            }
        });

        int pid;
        try {
            pid = start(c, req.getArgsList(), req.getEnvList(), req.getCwd(),
                    spawn -> spawn.dup2(in[0], 0).dup2(out[1], 1).dup2(err[1], 2));
        } finally {
            out[1].close();
            err[1].close();
            in[0].close();
        }
        var waited = new CompletableFuture<Processes.WaitStatus>();
        Thread.ofPlatform().name("exec-wait-" + pid).daemon(true).start(() -> {
            try {
                waited.complete(Processes.waitpid(pid, 0));
            } catch (Throwable t) {
                waited.completeExceptionally(t);
            }
        });
        boolean timedOut = false;
        Processes.WaitStatus ws;
        try {
            ws = req.getTimeoutMs() > 0 ? waited.get(req.getTimeoutMs(), TimeUnit.MILLISECONDS) : waited.get();
        } catch (TimeoutException e) {
            timedOut = true;
            Syscalls.kill(pid, 9);
            ws = join(waited);
        } catch (Exception e) {
            throw new IOException("wait for exec pid " + pid + ": " + e.getMessage(), e);
        }
        try {
            // Children the exec left behind may keep the pipes open: do not wait for them for ever.
            outPump.join(timedOut ? 100 : 2000);
            errPump.join(timedOut ? 100 : 2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return ExecResponse.newBuilder().setExitCode(ws.exitCode()).setTimedOut(timedOut)
                .setStdout(ByteString.copyFrom(outSink.bytes())).setStderr(ByteString.copyFrom(errSink.bytes()))
                .setStdoutTruncated(outSink.truncated).setStderrTruncated(errSink.truncated).build();
    }

    /**
     * Starts {@code args} in the container (env and cwd default to the container's) on a fresh
     * single-use thread, with its stdio set up by {@code stdio}; returns its host pid once it is
     * in the container's cgroup. The caller closes its copies of the child's fds afterwards.
     *
     * <p>The process never runs outside the cgroup, so it cannot fork a child that stays out of
     * its limits and device rules. On v1 the thread moves into the cgroup and the child is born
     * there. v2 cannot move one thread of a domain cgroup: there the child is held before exec at
     * a start gate of its own (a FIFO in the container's /dev, as the container's process is at
     * create), placed by pid, and let go.
     */
    static int start(Container c, List<String> args, List<String> reqEnv, String reqCwd,
            java.util.function.Consumer<Spawn> stdio) throws IOException {
        int target = c.pid();
        List<String> env = !reqEnv.isEmpty() ? reqEnv : c.spec().getProcess().getEnvList();
        String cwd = !reqCwd.isEmpty() ? reqCwd
                : c.spec().getProcess().getCwd().isEmpty() ? "/" : c.spec().getProcess().getCwd();
        boolean v2 = c.cgroups().isV2();
        String gate = v2 ? Rootfs.GATE + "-exec-" + GATES.incrementAndGet() : null;
        Path gateOnHost = v2 ? Path.of("/proc/" + target + "/root" + gate) : null;
        if (v2) {
            FileOps.mknod(gateOnHost, FileOps.S_IFIFO | 0600, 0);
            FileOps.chown(gateOnHost, c.security().uid(), c.security().gid());
        }
        var tid = new CompletableFuture<Integer>();
        var spawned = new CompletableFuture<Integer>();
        Thread.ofPlatform().name("exec-" + c.spec().getId()).daemon(true).start(() -> {
            try {
                tid.complete(Syscalls.gettid());
                spawned.complete(spawnInside(c, target, args, env, cwd, gate, stdio));
            } catch (Throwable t) {
                spawned.completeExceptionally(t);
            }
        });
        try {
            if (!v2) {
                return HeldChild.await(spawned, "exec " + args);
            }
            int pid = HeldChild.find(HeldChild.await(tid, "exec " + args), spawned);
            try {
                c.cgroup().addProcess(pid);
                HeldChild.openGate(gateOnHost, spawned).close();
                return HeldChild.await(spawned, "exec " + args);
            } catch (IOException | RuntimeException e) {
                Syscalls.kill(pid, 9);
                try {
                    // posix_spawn returns once its child is gone; then the pid is ours to reap
                    // (unless glibc reaped it as a failed spawn: ECHILD).
                    HeldChild.await(spawned, "exec " + args);
                    Processes.waitpid(pid, 0);
                } catch (IOException | RuntimeException reaped) {
                    e.addSuppressed(reaped);
                }
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException("exec " + args + " in " + c.spec().getId() + ": " + e.getMessage(), e);
        } finally {
            if (v2) FileOps.unlink(gateOnHost);
        }
    }

    private static Processes.WaitStatus join(CompletableFuture<Processes.WaitStatus> f) throws IOException {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("exec did not exit after SIGKILL: " + e.getMessage(), e);
        }
    }

    /**
     * On the fresh exec thread: cgroup (v1 thread move), namespaces (mount last), security, spawn;
     * with a {@code gate} (v2), the child waits at it before exec.
     */
    private static int spawnInside(Container c, int target, List<String> args, List<String> env, String cwd,
            String gate, java.util.function.Consumer<Spawn> stdio) throws IOException {
        if (gate == null) {
            // v1: move this thread into the container's cgroups; the child is born there, with no
            // window in which it runs outside its limits. The thread exits right after.
            c.cgroup().addThread(Syscalls.gettid());
        }
        Map<Namespace, Fd> fds = new LinkedHashMap<>();
        try {
            for (Namespace ns : List.of(Namespace.IPC, Namespace.UTS, Namespace.NET, Namespace.PID, Namespace.CGROUP,
                    Namespace.MOUNT)) {
                fds.put(ns, Syscalls.open(Path.of("/proc/" + target + "/ns/" + ns.procName), Syscalls.O_RDONLY));
            }
            Syscalls.unshare(Namespace.CLONE_FS);
            for (var e : fds.entrySet()) {
                Syscalls.setns(e.getValue(), e.getKey());
            }
        } finally {
            fds.values().forEach(Fd::close);
        }
        FileOps.chdir(Path.of(cwd));
        Path exe = Spawner.lookPath(args.getFirst(), env);
        c.security().applyToThisThread();
        var spawn = new Spawn();
        if (gate != null) {
            spawn.open(3, gate, Syscalls.O_RDONLY, 0).close(3);
        }
        stdio.accept(spawn);
        return spawn.spawn(exe, args, env);
    }

}
