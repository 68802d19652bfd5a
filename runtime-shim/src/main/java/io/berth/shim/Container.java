package io.berth.shim;

import static io.berth.shim.HeldChild.await;
import static io.berth.shim.Steps.step;

import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.Processes;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import io.berth.kernel.UnixSocket;
import io.berth.kernel.cgroup.Cgroup;
import io.berth.kernel.cgroup.Cgroups;
import io.berth.kernel.cgroup.DeviceRule;
import io.berth.kernel.cgroup.Resources;
import io.berth.shim.api.AtomicFile;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.ExitRecord;
import io.berth.shim.api.NamespaceRef;
import io.berth.shim.api.Rlimit;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.State;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One container and its lifecycle:
 * <pre>
 *   create() ──▶ CREATED ──start()──▶ RUNNING ──(pid 1 exits)──▶ EXITED ──▶ shim exits
 *                   │                                              ▲
 *                   └──────────── kill / shutdown ─────────────────┘
 * </pre>
 * The exit is written to BUNDLE/exit.pb (atomically, see AtomicFile) before anything else learns of it.
 */
final class Container {
    /**
     * runc's default device allow-list (libcontainer/specconv AllowedDevices): mknod of any node;
     * null, zero, full, random, urandom, tty, console, ptmx, the pts, tun.
     */
    static final List<DeviceRule> DEFAULT_DEVICE_RULES = java.util.stream.Stream.of("c *:* m", "b *:* m",
            "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",
            "c 136:* rwm", "c 10:200 rwm").map(DeviceRule::parse).toList();

    private final ContainerSpec spec;
    private final Path bundle;
    private final Clock clock = Clock.systemUTC();
    private final Undo undo = new Undo();
    private final Runnable onExit;

    private Cgroups cgroups;
    private Cgroup cgroup;
    private Security security;
    private CriLog log;
    private Spawner spawner;
    private final List<Thread> pumps = new ArrayList<>();
    private volatile Fd stdinWriter;
    private volatile Fd ptyMaster;
    private final Attachments attachments = new Attachments();
    private long oomBaseline;

    private volatile State.Status status = State.Status.CREATED;
    private volatile int pid;
    private volatile long createdAt;
    private volatile long startedAt;
    private volatile ExitRecord exit;
    /** Completed once exit.pb is written: waiters (the agent's StopContainer) learn of the exit. */
    private final CompletableFuture<ExitRecord> exited = new CompletableFuture<>();
    /** Completed once the exit's clean-up (cgroup, log) is done too. */
    private final CompletableFuture<Void> finished = new CompletableFuture<>();

    Container(ContainerSpec spec, Path bundle, Runnable onExit) {
        this.spec = spec;
        this.bundle = bundle;
        this.onExit = onExit;
    }

    ContainerSpec spec() {
        return spec;
    }

    Cgroups cgroups() {
        return cgroups;
    }

    Cgroup cgroup() {
        return cgroup;
    }

    Security security() {
        return security;
    }

    int pid() {
        return pid;
    }

    private long now() {
        var i = clock.instant();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    /** Creates the container up to the start gate; on failure undoes everything and throws. */
    void create() throws IOException {
        try {
            doCreate();
        } catch (IOException | RuntimeException e) {
            if (pid > 0) {
                Syscalls.kill(pid, 9);
            }
            undo.unwind(e);
            throw e;
        }
    }

    private void doCreate() throws IOException {
        Path rootfs = bundle.resolve("rootfs");
        Files.createDirectories(rootfs);
        step("prepare security context", () -> security = Security.of(spec));
        Log.mark("security");
        String cgPath = Cgroups.join(spec.getCgroup().getParent(), spec.getCgroup().getName().isEmpty()
                ? spec.getId() : spec.getCgroup().getName());
        Steps.IoStep createCgroup = () -> {
            cgroups = Cgroups.host();
            cgroup = cgroups.create(cgPath, resources(spec.getResources()));
            undo.push("remove cgroup " + cgPath, () -> cgroup.remove(Duration.ofSeconds(10)));
            oomBaseline = cgroup.oomKills();
        };
        // A privileged container may use every device (no rules, no v2 program), as with runc.
        Steps.IoStep allowDevices = () -> {
            if (!spec.getPrivileged()) {
                cgroup.allowDevicesOnly(deviceRules(spec));
            }
        };
        log = new CriLog(spec.getLogPath().isEmpty() ? null : Path.of(spec.getLogPath()), clock);
        undo.push("close log", log::close);

        // Pipes and pumps before any thread taints itself.
        boolean tty = spec.getProcess().getTty();
        Fd[] out = null;
        Fd[] err = null;
        Fd[] in = null;
        if (!tty) {
            out = FileOps.pipe("stdout of " + spec.getId());
            err = FileOps.pipe("stderr of " + spec.getId());
            pumps.add(Pump.start("stdout-" + spec.getId(), out[0], logSink(CriLog.Stream.STDOUT)));
            pumps.add(Pump.start("stderr-" + spec.getId(), err[0], logSink(CriLog.Stream.STDERR)));
        }
        if (spec.getProcess().getStdin() && !tty) {
            in = FileOps.pipe("stdin of " + spec.getId());
            // No attach yet: the shim holds the write end so the process does not see EOF at once.
            stdinWriter = in[1];
        }
        var stdio = new Spawner.Stdio(in == null ? null : in[0], out == null ? null : out[1], err == null ? null : err[1]);
        spawner = new Spawner(spec, rootfs, security, stdio);
        if (tty) {
            pumps.add(Pump.start("tty-" + spec.getId(), spawner.ready.thenApply(Spawner.Ready::ptyMaster),
                    logSink(CriLog.Stream.STDOUT)));
        }
        Log.mark("pipes");
        Thread.ofPlatform().name("spawner-" + spec.getId()).daemon(true).start(spawner);
        // The cgroup is made while the spawner builds the rootfs. On v1 the spawner thread then
        // moves into it, so the child is born there: a move may wait out an RCU grace period in the
        // kernel (cgroup_threadgroup_rwsem, ~10-20 ms here unless the agent keeps it in favordynmods
        // mode), which this way overlaps the rootfs work instead of following the spawn. v2 cannot
        // move one thread of a domain cgroup: there the held child is moved by pid after the spawn.
        // The device rules are in place before the container's process can exec (at Start): on v1
        // before the spawner thread moves in (it makes /dev's nodes, and writing the rules denies
        // everything for a moment); on v2 the program (~10 ms, most of it the JVM's first
        // BPF_PROG_LOAD) is attached while the spawner finishes the rootfs.
        IOException cgroupFailure = null;
        try {
            step("create cgroup " + cgPath, createCgroup);
            if (!cgroups.isV2()) {
                step("allow the container's devices in cgroup " + cgPath, allowDevices);
                int tid = await(spawner.started, "start the spawner");
                step("move the spawner thread " + tid + " into cgroup " + cgPath, () -> cgroup.addThread(tid));
            }
            Fd cgroupNamespace = null;
            if (cgroups.isV2() && !spec.getPrivileged()
                    && spec.getNamespacesList().stream().noneMatch(n -> n.getType() == NamespaceRef.Type.CGROUP)) {
                // As containerd on a v2 node: a private cgroup namespace, but for privileged containers.
                cgroupNamespace = Steps.result("make a cgroup namespace rooted at " + cgPath,
                        () -> CgroupNamespace.rootedAt(cgroup));
                Log.mark("cgroupns");
            }
            spawner.placed.complete(new Spawner.Placement(cgroup.containerView(), cgroupNamespace));
            if (cgroups.isV2()) {
                step("attach the device program of cgroup " + cgPath, allowDevices);
            }
        } catch (IOException e) {
            cgroupFailure = e;
            spawner.placed.completeExceptionally(e);
        }
        Log.mark("cgroup");
        int spawnerTid;
        try {
            Spawner.Ready ready = await(spawner.ready, "set up the container");
            ptyMaster = ready.ptyMaster();
            spawnerTid = ready.tid();
            await(spawner.spawning, "spawn the container's process");
            pid = HeldChild.find(spawnerTid, spawner.spawned);
            Log.mark("child");
        } catch (IOException | RuntimeException e) {
            if (cgroupFailure != null) e.addSuppressed(cgroupFailure);
            throw e;
        } finally {
            // The child has its own copies now (or never will): the shim keeps only the read ends.
            for (Fd fd : new Fd[] {out == null ? null : out[1], err == null ? null : err[1], in == null ? null : in[0]}) {
                if (fd != null) fd.close();
            }
        }
        if (cgroupFailure != null) {
            throw cgroupFailure; // create() kills the held child and unwinds
        }
        undo.push("kill held process " + pid, () -> Syscalls.kill(pid, 9));
        // Started here, on a normal thread: the spawner completes the future from its tainted
        // thread, which cannot start threads. The reaper waits until posix_spawn has returned
        // (on failure glibc reaps the child itself, so the reaper must not).
        Thread.ofPlatform().name("reaper-" + spec.getId()).daemon(true).start(() -> {
            try {
                spawner.spawned.join();
            } catch (RuntimeException e) {
                return;
            }
            reap();
        });
        int heldPid = pid;
        CompletableFuture<Void> spawnerBack = CompletableFuture.completedFuture(null);
        if (cgroups.isV2()) {
            step("put pid " + pid + " in cgroup " + cgPath, () -> cgroup.addProcess(heldPid));
            Log.mark("cgroup-procs");
        } else {
            // The child is born in the cgroup; its spawner thread (waiting in posix_spawn until
            // Start) goes back to the shim's cgroups, so that the container's cgroup holds only
            // the container. Another migration: it overlaps the /proc mount.
            spawnerBack = CompletableFuture.runAsync(() -> returnSpawner(spawnerTid),
                    r -> Thread.ofPlatform().name("cgroup-return").daemon(true).start(r));
        }
        step("set rlimits of pid " + pid, () -> rlimits(heldPid));
        step("set oom_score_adj of pid " + pid, () -> oomScoreAdj(heldPid));
        Log.mark("limits");
        step("mount /proc", () -> ProcSetup.run(spec, heldPid));
        Log.mark("proc");
        await(spawnerBack, "move the spawner thread " + spawnerTid + " out of cgroup " + cgPath);
        Log.mark("cgroup-return");
        createdAt = now();
        undo.forget();
    }

    private void returnSpawner(int tid) {
        try {
            cgroups.returnThread(tid);
        } catch (IOException e) {
            if (Files.exists(Path.of("/proc/self/task/" + tid))) {
                throw new java.io.UncheckedIOException(e.getMessage(), e);
            }
            // the spawner is gone (its child died before exec): it is in no cgroup any more
        }
    }

    private Pump.Sink logSink(CriLog.Stream stream) {
        return new Pump.Sink() {
            @Override
            public void accept(byte[] buf, int len) throws IOException {
                log.write(stream, buf, 0, len);
                attachments.output(stream, buf, len);
            }

            @Override
            public void end() throws IOException {
                log.endOf(stream);
            }
        };
    }

    /** The default list plus each of the spec's devices with its own access (empty: rwm). */
    static List<DeviceRule> deviceRules(ContainerSpec spec) {
        var rules = new ArrayList<>(DEFAULT_DEVICE_RULES);
        for (var d : spec.getDevicesList()) {
            rules.add(new DeviceRule(d.getType().equals("b") ? 'b' : 'c', d.getMajor(), d.getMinor(),
                    d.getPermissions().isEmpty() ? "rwm" : d.getPermissions()));
        }
        return rules;
    }

    static Resources resources(io.berth.shim.api.Resources r) {
        return new Resources(r.getCpuShares(), r.getCpuQuota(), r.getCpuPeriod(), r.getCpusetCpus(), r.getCpusetMems(),
                r.getMemoryLimitBytes(), r.getPidsLimit(), r.getHugepageLimitsMap(), r.getUnifiedMap());
    }

    private static final List<String> RLIMITS = List.of("RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
            "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
            "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME");

    /**
     * rlimits are per process, so they are set on the held child with prlimit(2), never on a JVM
     * thread. Raising a hard limit needs CAP_SYS_RESOURCE, which root lacks on some nodes
     * (DESIGN.md): then clamp to the current hard limit and log.
     */
    private void rlimits(int pid) throws IOException {
        for (Rlimit r : spec.getProcess().getRlimitsList()) {
            int res = RLIMITS.indexOf(r.getType().startsWith("RLIMIT_") ? r.getType() : "RLIMIT_" + r.getType());
            if (res < 0) throw new IOException("unknown rlimit " + r.getType());
            try {
                Processes.setrlimit(pid, res, r.getSoft(), r.getHard());
            } catch (SyscallException e) {
                if (e.errno() != io.berth.kernel.Errno.EPERM) throw e;
                long hard = Processes.getrlimit(pid, res)[1];
                long clampedHard = Long.compareUnsigned(r.getHard(), hard) > 0 ? hard : r.getHard();
                long clampedSoft = Long.compareUnsigned(r.getSoft(), clampedHard) > 0 ? clampedHard : r.getSoft();
                Log.warn("container " + spec.getId() + ": " + r.getType() + " " + r.getSoft() + "/" + r.getHard()
                        + " refused (" + e.getMessage() + "); clamped to " + clampedSoft + "/" + clampedHard);
                Processes.setrlimit(pid, res, clampedSoft, clampedHard);
            }
        }
    }

    /** Lowering oom_score_adj needs CAP_SYS_RESOURCE (proc(5)); without it clamp to 0 and log. */
    private void oomScoreAdj(int pid) throws IOException {
        int adj = spec.getProcess().getOomScoreAdj();
        Path f = Path.of("/proc/" + pid + "/oom_score_adj");
        try {
            Files.writeString(f, Integer.toString(adj));
        } catch (IOException e) {
            if (adj >= 0) throw new IOException("write " + adj + " to " + f + ": " + e.getMessage(), e);
            Log.warn("container " + spec.getId() + ": oom_score_adj " + adj + " refused (" + e.getMessage() + "); using 0");
            Files.writeString(f, "0");
        }
    }

    /** Releases the held process; returns once it has exec'd (or throws the exec error). */
    synchronized void start() throws IOException {
        if (status != State.Status.CREATED) {
            throw new IOException("start container " + spec.getId() + ": it is " + status + ", not CREATED");
        }
        Path gate = Path.of("/proc/" + pid + "/root" + Rootfs.GATE);
        Log.mark("start");
        try (Fd w = HeldChild.openGate(gate, spawner.spawned)) {
            FileOps.unlink(gate);
        } catch (SyscallException e) {
            throw new IOException("start container " + spec.getId() + ": open start gate " + gate + ": " + e.getMessage(), e);
        }
        try {
            await(spawner.spawned, "exec the container's process");
        } catch (IOException e) {
            // glibc reaped the child already; record the start failure as the exit.
            recordExit(ExitRecord.newBuilder().setExitCode(128).setReason("StartError").setMessage(e.getMessage())
                    .setFinishedAt(now()).setPid(pid), null);
            throw new IOException("start container " + spec.getId() + ": " + e.getMessage(), e);
        }
        startedAt = now();
        status = State.Status.RUNNING;
        Log.mark("exec");
        Log.timeline("container " + spec.getId() + " started");
    }

    State state() {
        ExitRecord e = exit;
        var b = State.newBuilder().setStatus(status).setPid(pid).setCreatedAt(createdAt).setStartedAt(startedAt);
        if (e != null) {
            b.setFinishedAt(e.getFinishedAt()).setExitCode(e.getExitCode()).setSignal(e.getSignal())
                    .setReason(e.getReason()).setMessage(e.getMessage());
        }
        return b.build();
    }

    /** The state once the container has exited (its exit recorded), or after {@code timeoutMs}. */
    State awaitExit(long timeoutMs) throws IOException {
        try {
            exited.get(Math.max(0, timeoutMs), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // still running: answer with the state as it is
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("wait for the exit of " + spec.getId() + ": " + e.getCause().getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("wait for the exit of " + spec.getId() + ": interrupted", e);
        }
        return state();
    }

    void kill(int signal, boolean all) throws IOException {
        if (status == State.Status.EXITED) return;
        if (all) {
            try {
                cgroup.signalAll(signal);
            } catch (IOException e) {
                // The container exited meanwhile and its cgroup is being removed: nothing to signal.
                if (exited.isDone()) return;
                throw e;
            }
        }
        Syscalls.kill(pid, signal);
    }

    /**
     * CRI Attach: this connection gets the container's output (besides the log) until the
     * container exits, and feeds its stdin when the container was created with stdin. With
     * stdin_once the container's stdin is closed when the first client that used it detaches
     * (CRI ContainerConfig.stdin_once); a pty cannot be half-closed, so with a tty it stays.
     */
    void attach(io.berth.shim.api.AttachRequest req, UnixSocket ch) throws IOException {
        InputStream in = ch.in();
        OutputStream out = ch.out();
        if (status != State.Status.RUNNING) {
            StreamExec.refuse(out, "attach to container " + spec.getId() + ": it is " + status + ", not RUNNING");
            return;
        }
        boolean tty = spec.getProcess().getTty();
        var frames = new FrameWriter(out);
        var client = new Attachments.Client(req.getStdout(), req.getStderr() && !tty, frames);
        io.berth.shim.api.ShimResponse.newBuilder().setEmpty(io.berth.shim.api.Empty.getDefaultInstance()).build()
                .writeDelimitedTo(out);
        out.flush();
        if (!attachments.add(client)) {
            frames.exit(attachments.exitCode(), attachments.signal(), "");
            return;
        }
        Thread writer = Thread.ofPlatform().name("attach-" + spec.getId()).daemon(true).start(() -> client.run(() -> {
            ch.shutdownInput(); // ends the read loop below
        }));
        boolean useStdin = req.getStdin() && spec.getProcess().getStdin();
        try {
            while (true) {
                io.berth.shim.api.StreamFrame f = io.berth.shim.api.StreamFrame.parseDelimitedFrom(in);
                if (f == null) break;
                switch (f.getFrameCase()) {
                    case STDIN -> {
                        Fd input = tty ? ptyMaster : stdinWriter;
                        if (useStdin && input != null) StreamExec.write(input, f.getStdin().toByteArray());
                    }
                    case STDIN_EOF -> {
                        if (useStdin) stdinDetached();
                    }
                    case RESIZE -> {
                        if (tty) StreamExec.resize(ptyMaster, f.getResize());
                    }
                    default -> Log.warn("attach to " + spec.getId() + ": unexpected frame " + f.getFrameCase());
                }
            }
        } catch (IOException e) {
            // the client went away
        } finally {
            attachments.remove(client);
            if (useStdin) stdinDetached();
        }
        try {
            writer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void stdinDetached() {
        Fd w = stdinWriter;
        if (spec.getProcess().getStdinOnce() && w != null) {
            w.close();
        }
    }

    void update(io.berth.shim.api.Resources r) throws IOException {
        cgroup.apply(resources(r));
    }

    void reopenLog() throws IOException {
        log.reopen();
    }

    /** Kills the container (if any) and waits for its exit to be recorded. */
    void shutdown() throws IOException {
        if (status != State.Status.EXITED && pid > 0) {
            Syscalls.kill(pid, 9);
            try {
                finished.get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IOException("shutdown of " + spec.getId() + ": exit not seen within 30 s", e);
            }
        }
    }

    /** Waits for pid 1 (this pid only: waitpid(-1) would steal other statuses) and records its exit. */
    private void reap() {
        Processes.WaitStatus ws;
        try {
            ws = Processes.waitpid(pid, 0);
        } catch (SyscallException e) {
            Log.warn("waitpid " + pid + ": " + e.getMessage());
            ws = new Processes.WaitStatus(255, 0);
        }
        long finished = now();
        // Pid 1 gone: the kernel kills the rest of its PID namespace, so the pipes reach EOF.
        for (Thread t : pumps) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        boolean oom = false;
        try {
            oom = cgroup.oomKills() > oomBaseline;
        } catch (IOException e) {
            Log.warn("read OOM count of " + cgroup + ": " + e.getMessage());
        }
        String reason = oom ? "OOMKilled" : ws.exitCode() == 0 ? "Completed" : "Error";
        recordExit(ExitRecord.newBuilder().setExitCode(ws.exitCode()).setSignal(ws.signal()).setStartedAt(startedAt)
                .setFinishedAt(finished).setReason(reason).setPid(pid), null);
    }

    private synchronized void recordExit(ExitRecord.Builder b, Throwable ignored) {
        if (exit != null) return;
        ExitRecord rec = b.setStartedAt(startedAt).build();
        try {
            AtomicFile.write(bundle.resolve(ShimClient.EXIT), rec.toByteArray());
        } catch (IOException e) {
            Log.warn("write " + bundle.resolve(ShimClient.EXIT) + ": " + e.getMessage());
        }
        exit = rec;
        status = State.Status.EXITED;
        exited.complete(rec);
        Log.info("container " + spec.getId() + " exited: code " + rec.getExitCode() + " signal " + rec.getSignal()
                + " reason " + rec.getReason());
        try {
            cgroup.remove(Duration.ofSeconds(10));
        } catch (IOException e) {
            Log.warn(e.getMessage());
        }
        try {
            log.close();
        } catch (IOException e) {
            Log.warn("close log: " + e.getMessage());
        }
        if (stdinWriter != null) stdinWriter.close();
        attachments.exit(rec.getExitCode(), rec.getSignal());
        finished.complete(null);
        onExit.run();
    }
}
