package io.berth.shim.api;

import io.berth.kernel.MemorySharing;
import io.berth.kernel.Processes;
import io.berth.kernel.Syscalls;
import io.berth.kernel.cgroup.Cgroups;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Starts a shim for one container and waits until it has CREATED the container: the process
 * spawned and held at the start gate, cgroups and limits applied, /proc mounted. The shim runs in
 * its own session ({@code setsid}) with stdio on BUNDLE/shim.log, so it outlives the agent (restart
 * or kill -9). On failure the shim undoes its own work and writes its error to BUNDLE/shim.err;
 * {@link #launch} throws that message.
 *
 * <p>BUNDLE layout (the agent creates BUNDLE; everything in it belongs to the shim protocol):
 * spec.pb (written here), shim.pid ("PID STARTTIME"), shim.sock, shim.log, shim.err, exit.pb,
 * rootfs/ (mount point, only ever mounted inside the container's own mount namespace).
 */
public final class ShimLauncher {
    static final Duration CREATE_TIMEOUT = Duration.ofSeconds(60);
    /** How many of awaitCreated's 1 ms rounds go by between two looks at whether the shim is alive. */
    private static final int ALIVE_EVERY = 16;

    /**
     * The one thread that starts idle shims, at nice 19 for good and with the personality each
     * start sets: nothing else runs on it, so neither reaches any other process this JVM starts.
     */
    private static final ExecutorService IDLE_SPAWNER = Executors.newSingleThreadExecutor(task ->
            Thread.ofPlatform().name("idle-shim-spawner").daemon(true).unstarted(() -> {
                try {
                    Processes.setNiceOfThread(Syscalls.gettid(), 19);
                } catch (RuntimeException e) {
                    // idle shims then start at this JVM's priority: slower creates, nothing lost
                    System.getLogger(ShimLauncher.class.getName()).log(System.Logger.Level.WARNING,
                            "idle shims will not start at nice 19: " + e.getMessage());
                }
                task.run();
            }));

    private ShimLauncher() {
    }

    /** Launches a shim of the distribution in {@code shimLibDir}, sharing memory with other shims ({@link ShimJvm}). */
    public static ShimClient launch(Path shimLibDir, Path bundle, ContainerSpec spec) throws IOException, ShimException {
        return launch(shimLibDir, bundle, spec, true);
    }

    public static ShimClient launch(Path shimLibDir, Path bundle, ContainerSpec spec, boolean shareMemory)
            throws IOException, ShimException {
        return launch(ShimJvm.command(shimLibDir, bundle.toAbsolutePath(), shareMemory), bundle, spec);
    }

    /**
     * Launches the shim JVM {@code jvmCommand} (a {@link ShimJvm} command for {@code bundle}, e.g.
     * the AOT training run's) and waits until it has CREATED the container.
     */
    public static ShimClient launch(List<String> jvmCommand, Path bundle, ContainerSpec spec) throws IOException, ShimException {
        bundle = prepare(bundle, spec);
        Path log = bundle.resolve(ShimClient.LOG);
        // The shim's own timeline starts at its main(); this line shows the JVM's start-up before it.
        Files.writeString(log, java.time.Instant.now() + " INFO launching shim JVM\n", java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        Process p = start(jvmCommand, log, ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        return awaitCreated(bundle, spec, p::isAlive, p);
    }

    /** Clears what a previous shim of {@code bundle} left and writes the spec; returns the absolute bundle. */
    static Path prepare(Path bundle, ContainerSpec spec) throws IOException {
        bundle = bundle.toAbsolutePath();
        Files.createDirectories(bundle);
        for (String stale : List.of(ShimClient.ERROR, ShimClient.EXIT, ShimClient.SOCKET, ShimClient.PID)) {
            Files.deleteIfExists(bundle.resolve(stale));
        }
        AtomicFile.write(bundle.resolve(ShimClient.SPEC), spec.toBuilder().setBundle(bundle.toString()).build().toByteArray());
        return bundle;
    }

    /** Starts a shim JVM in its own session with stdout and stderr appended to {@code log}. */
    static Process start(List<String> jvmCommand, Path log, ProcessBuilder.Redirect stdin) throws IOException {
        var cmd = new ArrayList<String>();
        // setsid(1) execs directly (a ProcessBuilder child is never a group leader), so the pid we
        // get is the shim's; its new session keeps it from the agent's terminal and signals.
        cmd.add("setsid");
        cmd.addAll(jvmCommand);
        return start(cmd, log, stdin);
    }

    /**
     * Starts an idle pool shim: in the agent's session and at the lowest CPU priority (nice 19),
     * so that its JVM start-up only takes CPU time the containers being created meanwhile leave
     * over. A session of its own would be worse here: with the scheduler's autogroups (one per
     * session) it would get as much CPU as the whole agent. The shim leaves for a session of its
     * own and normal priority once it is adopted ({@code IdleShim}). With {@code shareMemory} it
     * runs without address randomisation ({@link ShimJvm}).
     *
     * <p>Both come from the thread that spawns it ({@link #IDLE_SPAWNER}), not from nice(1) and
     * setarch(8) in front of the JVM: a child inherits the nice value and the personality of the
     * thread that spawns it (posix_spawn clones that thread) and keeps them across exec. Two execs
     * fewer per shim, ~1.3 ms of CPU each (perf, a 20-pod burst).
     */
    static Process startIdle(List<String> jvmCommand, boolean shareMemory, Path log, ProcessBuilder.Redirect stdin)
            throws IOException {
        var spawn = IDLE_SPAWNER.submit(() -> {
            MemorySharing.setThreadAddressRandomization(!shareMemory);
            return start(new ArrayList<>(jvmCommand), log, stdin);
        });
        try {
            return spawn.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException("start an idle shim: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting an idle shim", e);
        }
    }

    private static Process start(ArrayList<String> cmd, Path log, ProcessBuilder.Redirect stdin) throws IOException {
        var pb = new ProcessBuilder(cmd);
        pb.environment().putAll(ShimJvm.ENVIRONMENT);
        return pb
                .redirectInput(stdin)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
    }

    /**
     * Waits until the shim of {@code bundle} has CREATED the container (its socket appears), has
     * failed (shim.err), or is gone ({@code alive} false); {@code p} is its process when this JVM
     * started it, else null.
     */
    static ShimClient awaitCreated(Path bundle, ContainerSpec spec, java.util.function.BooleanSupplier alive, Process p)
            throws ShimException {
        long deadline = System.nanoTime() + CREATE_TIMEOUT.toNanos();
        Path sock = bundle.resolve(ShimClient.SOCKET);
        Path err = bundle.resolve(ShimClient.ERROR);
        Path log = bundle.resolve(ShimClient.LOG);
        for (int round = 0; ; round++) {
            // The shim publishes its socket (rename into place) only once the container is CREATED.
            if (Files.exists(sock)) {
                return ShimClient.connect(bundle);
            }
            // Whether it is still there only every ALIVE_EVERY rounds: for an adopted shim that is
            // a read of shim.pid and of /proc/PID/stat, and asked every millisecond it had cost the
            // agent ~1.7 ms of CPU per create (a profile of a 20-pod burst). A shim that dies
            // without writing shim.err is noticed a few ms later.
            if (Files.exists(err) || (round % ALIVE_EVERY == 0 && !alive.getAsBoolean())) {
                if (p != null) {
                    try {
                        p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                throw new ShimException("create container " + spec.getId() + ": " + shimError(bundle, p));
            }
            if (System.nanoTime() > deadline) {
                kill(bundle, p);
                try {
                    cleanup(bundle);
                } catch (IOException e) {
                    // reported below with the timeout
                }
                throw new ShimException("create container " + spec.getId() + ": shim did not report CREATED within "
                        + CREATE_TIMEOUT.toSeconds() + " s (log: " + log + ")");
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill(bundle, p);
                throw new ShimException("interrupted while creating container " + spec.getId());
            }
        }
    }

    private static void kill(Path bundle, Process p) {
        if (p != null) {
            p.destroyForcibly();
            return;
        }
        long[] pid = ShimClient.shimPid(bundle);
        if (pid != null && ShimClient.startTime(pid[0]) == pid[1]) {
            ProcessHandle.of(pid[0]).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private static String shimError(Path bundle, Process p) {
        try {
            return Files.readString(bundle.resolve(ShimClient.ERROR)).strip();
        } catch (IOException e) {
            String tail = "";
            try {
                List<String> lines = Files.readAllLines(bundle.resolve(ShimClient.LOG));
                tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
            } catch (IOException ignored) {
                // no log either
            }
            return "shim exited" + (p == null || p.isAlive() ? "" : " with status " + p.exitValue())
                    + " without an error file; log tail:\n" + tail;
        }
    }

    /**
     * Removes whatever a shim of {@code bundle} may have left, whatever state it is in: asks a live
     * shim to shut down (SIGKILL to it if it does not), then kills any process left in the
     * container's cgroup and removes the cgroup. The container's mounts live only in its own mount
     * namespace, which the kernel frees with its last process. Idempotent.
     */
    public static void cleanup(Path bundle) throws IOException {
        bundle = bundle.toAbsolutePath();
        ShimClient client = ShimClient.connect(bundle);
        if (client.alive()) {
            try {
                client.shutdown();
            } catch (ShimException e) {
                // fall through to the hard way
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (client.alive() && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            long[] pid = ShimClient.shimPid(bundle);
            if (client.alive() && pid != null) {
                ProcessHandle.of(pid[0]).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        ContainerSpec spec;
        try {
            spec = ContainerSpec.parseFrom(Files.readAllBytes(bundle.resolve(ShimClient.SPEC)));
        } catch (NoSuchFileException e) {
            return;
        }
        if (!spec.getCgroup().getName().isEmpty() || !spec.getCgroup().getParent().isEmpty()) {
            Cgroups.host().open(Cgroups.join(spec.getCgroup().getParent(), spec.getCgroup().getName()))
                    .remove(Duration.ofSeconds(10));
        }
        Files.deleteIfExists(bundle.resolve(ShimClient.SOCKET));
    }
}
