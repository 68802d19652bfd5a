package io.berth.e2e;

import io.berth.cri.v1.VersionRequest;
import io.berth.kernel.MemorySharing;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real berth agent in its own process, started from the built distribution (agent/target/lib)
 * exactly as bin/berth starts it, with its state, runtime files and socket under one directory.
 * Tests and the bench harness talk to it only through its socket and its HTTP port.
 */
public final class AgentProcess implements AutoCloseable {
    /**
     * The node's KSM switch as the first agent of this JVM found it. An agent turns KSM on
     * (shim_memory_sharing) and leaves it on; tests and benches put the node back as it was when
     * each agent stops.
     */
    private static MemorySharing.KsmState ksmFound;
    private final Process process;
    /** Stopped by {@link #terminate}, {@link #kill} or expected to exit ({@link #awaitExit}): the test's doing. */
    private volatile boolean stoppedByTest;
    private final Path dir;
    private final Path socket;
    private final int httpPort;
    private final Path log;

    private AgentProcess(Process process, Path dir, Path socket, int httpPort, Path log) {
        this.process = process;
        this.dir = dir;
        this.socket = socket;
        this.httpPort = httpPort;
        this.log = log;
    }

    /** The project's root: BERTH_HOME (set by the build), else the working directory's parents. */
    public static Path home() {
        String env = System.getenv("BERTH_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("agent/pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("cannot find the berth project root; set BERTH_HOME");
    }

    public static int freePort() throws IOException {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Launches an agent under {@code dir} without waiting for it. */
    public static AgentProcess launch(Path dir, String... extraFlags) throws IOException {
        return launch(dir, dir.resolve("run/berth.sock"), freePort(), extraFlags);
    }

    public static AgentProcess launch(Path dir, Path socket, int httpPort, String... extraFlags) throws IOException {
        return launch(List.of(), dir, socket, httpPort, extraFlags);
    }

    /**
     * Launches an agent under {@code dir} through {@code wrapper}, a command that ends by exec'ing
     * the arguments after it (so that the agent keeps the pid this handle signals); empty: none.
     */
    public static AgentProcess launch(List<String> wrapper, Path dir, Path socket, int httpPort, String... extraFlags)
            throws IOException {
        Path lib = home().resolve("agent/target/lib");
        if (!Files.isRegularFile(lib.resolve("berth-agent.jar"))) {
            throw new IllegalStateException(lib + "/berth-agent.jar is missing: run ./mvnw package first");
        }
        synchronized (AgentProcess.class) {
            if (ksmFound == null) ksmFound = MemorySharing.ksm();
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        var cmd = new ArrayList<>(wrapper);
        cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseCompactObjectHeaders"));
        // As bin/berth runs it: with the AOT cache the build made, unless a jar is newer than it.
        if (aotCacheIsFresh(lib)) {
            cmd.add("-XX:AOTCache=" + lib.resolve("berth-agent.aot"));
        }
        cmd.addAll(List.of("-XX:+UnlockDiagnosticVMOptions",
                "-XX:CompilerDirectivesFile=" + home().resolve("agent/jit-directives.json")));
        String javaOpts = System.getenv("BERTH_JAVA_OPTS"); // as bin/berth passes them
        if (javaOpts != null && !javaOpts.isBlank()) {
            cmd.addAll(List.of(javaOpts.trim().split("\\s+")));
        }
        cmd.addAll(List.of("-Dberth.home=" + home(), "-cp", lib + "/*", "io.berth.agent.Main", "agent",
                "--socket", socket.toString(),
                "--state-dir", dir.resolve("state").toString(),
                "--run-dir", dir.resolve("run").toString(),
                "--http-port", Integer.toString(httpPort),
                "--log-level", "debug"));
        cmd.addAll(List.of(extraFlags));
        Files.createDirectories(dir);
        Path log = Files.createTempFile(dir, "agent-", ".log");
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new AgentProcess(p, dir, socket, httpPort, log);
    }

    /** The AOT cache exists and no jar beside it is newer (a stale cache can serve stale classes). */
    static boolean aotCacheIsFresh(Path lib) throws IOException {
        Path aot = lib.resolve("berth-agent.aot");
        if (!Files.isRegularFile(aot)) {
            return false;
        }
        var made = Files.getLastModifiedTime(aot);
        try (var jars = Files.list(lib)) {
            return jars.filter(p -> p.toString().endsWith(".jar"))
                    .allMatch(p -> {
                        try {
                            return Files.getLastModifiedTime(p).compareTo(made) <= 0;
                        } catch (IOException e) {
                            return false;
                        }
                    });
        }
    }

    /** Launches an agent and waits until it answers Version on its socket. */
    public static AgentProcess start(Path dir, String... extraFlags) throws IOException, InterruptedException {
        return start(List.of(), dir, extraFlags);
    }

    /** {@link #start(Path, String...)} through {@code wrapper} (see {@link #launch(List, Path, Path, int, String...)}). */
    public static AgentProcess start(List<String> wrapper, Path dir, String... extraFlags)
            throws IOException, InterruptedException {
        var agent = launch(wrapper, dir, dir.resolve("run/berth.sock"), freePort(), extraFlags);
        agent.awaitReady(Duration.ofSeconds(60));
        return agent;
    }

    /** Polls Version until it answers; fails with the agent's log if the agent exits first. */
    public void awaitReady(Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("agent exited with " + process.exitValue() + ":\n" + log());
            }
            if (Files.exists(socket) && answersVersion()) {
                return;
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("agent not ready after " + timeout + ":\n" + log());
    }

    private boolean answersVersion() throws InterruptedException {
        try (var client = new CriClient(socket)) {
            client.runtime().withDeadlineAfter(2, TimeUnit.SECONDS).version(VersionRequest.getDefaultInstance());
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    public CriClient client() {
        return new CriClient(socket);
    }

    public Path socket() {
        return socket;
    }

    public Path dir() {
        return dir;
    }

    /**
     * The bundle of container {@code id} in this agent's run directory (run/c/ and the id's first
     * 16 hex digits), where its shim keeps shim.pid, shim.log and its socket.
     */
    public Path bundle(String containerId) {
        return dir.resolve("run/c").resolve(containerId.substring(0, 16));
    }

    /** The pid of container {@code id}'s shim, from its bundle's shim.pid ("PID STARTTIME"). */
    public long shimPid(String containerId) throws IOException {
        return Long.parseLong(Files.readString(bundle(containerId).resolve("shim.pid")).trim().split("\\s+")[0]);
    }

    public int httpPort() {
        return httpPort;
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    /** SIGTERM, as kubelet's node or systemd would stop it; returns the exit code. */
    public int terminate(Duration timeout) throws InterruptedException {
        stoppedByTest = true;
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("agent did not stop within " + timeout + " of SIGTERM");
        }
        return process.exitValue();
    }

    /** Waits for an agent the test expects to exit by itself (a refused start); its exit code. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        stoppedByTest = true;
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("agent in " + dir + " still runs after " + timeout);
        }
        return process.exitValue();
    }

    /** kill -9, as a crash would end it; waits until it is gone. */
    public void kill() throws InterruptedException {
        stoppedByTest = true;
        process.destroyForcibly().waitFor();
    }

    /** Stops the agent if it still runs: SIGTERM, then SIGKILL. Only this process, by its pid. */
    @Override
    public void close() throws InterruptedException {
        reportIfGone();
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
        unmountLeftHierarchy();
        restoreKsm();
    }

    /**
     * An agent that exited before its test was done with it, or lost its socket, leaves its tests
     * failing with UNAVAILABLE and nothing else to go on; its exit code and log go to stderr (the
     * build's output) so that the cause is there to read.
     */
    private void reportIfGone() {
        if (stoppedByTest) return;
        boolean exited = !process.isAlive();
        if (!exited && Files.exists(socket)) return;
        String what = exited ? "exited with " + process.exitValue() : "is running but its socket " + socket + " is gone";
        String text;
        try {
            String all = log();
            text = all.length() > 20_000 ? "...\n" + all.substring(all.length() - 20_000) : all;
        } catch (IOException e) {
            text = "(log unreadable: " + e.getMessage() + ")";
        }
        System.err.println("agent in " + dir + " " + what + " before its test closed it; its log:\n" + text);
    }

    private static synchronized void restoreKsm() {
        var now = MemorySharing.ksm();
        if (ksmFound != null && now != null && now.run() != ksmFound.run()) {
            try {
                MemorySharing.setKsmRun(ksmFound.run());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("put KSM's run setting back to " + ksmFound.run(), e);
            }
        }
    }

    /**
     * An agent stopped with SIGTERM unmounts its favordynmods cgroup hierarchy (RUN_DIR/cgroup-dynmods)
     * itself; one killed with SIGKILL leaves it mounted, and the test's directory could not be removed.
     */
    private void unmountLeftHierarchy() throws InterruptedException {
        Path mountPoint = dir.resolve("run/cgroup-dynmods");
        try {
            boolean mounted = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .anyMatch(l -> l.split(" ")[4].equals(mountPoint.toString()));
            if (mounted) {
                new ProcessBuilder("umount", "-l", mountPoint.toString()).inheritIO().start().waitFor();
            }
        } catch (IOException e) {
            // nothing mounted that we can see
        }
    }
}
