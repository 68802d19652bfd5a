package io.berth.shim;

import io.berth.kernel.MemorySharing;
import io.berth.kernel.Syscalls;
import io.berth.kernel.UnixSocket;
import io.berth.kernel.seccomp.Seccomp;
import io.berth.shim.api.AdoptRequest;
import io.berth.shim.api.AtomicFile;
import io.berth.shim.api.CgroupSpec;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.Device;
import io.berth.shim.api.Empty;
import io.berth.shim.api.ExecRequest;
import io.berth.shim.api.ExecResponse;
import io.berth.shim.api.ExitRecord;
import io.berth.shim.api.KillRequest;
import io.berth.shim.api.Mount;
import io.berth.shim.api.NamespaceRef;
import io.berth.shim.api.ProcessSpec;
import io.berth.shim.api.Resources;
import io.berth.shim.api.Rlimit;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.ShimHello;
import io.berth.shim.api.ShimPool;
import io.berth.shim.api.ShimReport;
import io.berth.shim.api.ShimRequest;
import io.berth.shim.api.ShimResponse;
import io.berth.shim.api.StartRequest;
import io.berth.shim.api.State;
import io.berth.shim.api.WaitRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The shim process: {@code ShimMain BUNDLE}. Creates the container from BUNDLE/spec.pb, then
 * serves BUNDLE/shim.sock until the container has exited and its exit is recorded. The socket
 * appears (renamed into place) only once the container is CREATED; a failed create leaves
 * BUNDLE/shim.err with the reason and nothing else behind.
 */
public final class ShimMain {
    /**
     * Whether this JVM was started to share its memory with other shims (ShimJvm's
     * {@code shareMemory}: without address randomisation). Read, and randomisation given back
     * to whatever the shim execs, before anything else runs.
     */
    private static boolean shareMemory;
    /**
     * How long after its container's create and start a shim leaves its chores: handing its memory
     * to KSM (markMemoryMergeable) and its first stats sample ({@link AgentReporter}), 10-35 ms of
     * interpreted CPU together. A second, as they once waited, put the chores of a burst's first
     * pods on the CPUs the burst's later pods were being created on (20 back to back take 2-2.5 s
     * on two cores); five seconds puts them after a burst of that size. KSM takes minutes to
     * merge anyway, and until the first sample the agent reads the cgroup itself when asked.
     */
    static final long CHORES_DELAY_MS = 5000;

    private final Path bundle;
    private final Container container;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean exiting;
    private volatile AgentReporter reporter;

    private ShimMain(Path bundle, ContainerSpec spec) {
        this.bundle = bundle;
        this.container = new Container(spec, bundle, this::exitSoon);
    }

    public static void main(String[] args) throws Exception {
        Log.mark("main");
        shareMemory = MemorySharing.restoreAddressRandomization();
        if (args.length == 2 && args[0].equals(ShimPool.IDLE_FLAG)) {
            warmUp();
            Path bundle = IdleShim.awaitAdoption(Path.of(args[1]).toAbsolutePath());
            run(bundle);
            return;
        }
        if (args.length != 1) {
            System.err.println("usage: ShimMain BUNDLE | ShimMain " + ShimPool.IDLE_FLAG + " SLOT_DIR");
            exit(2);
        }
        Path bundle = Path.of(args[0]).toAbsolutePath();
        writePid(bundle);
        warmUp();
        run(bundle);
    }

    /**
     * What every container needs, done before one is asked for (an idle pool shim does it while it
     * waits): native bindings loaded on this normal thread (a tainted thread cannot start JNA's
     * helpers) and the protobuf message schemas. The RuntimeDefault seccomp filter comes compiled
     * in the spec (the agent's, {@code Seccomp.filter}).
     */
    static void warmUp() {
        Syscalls.gettid();
        Log.mark("jna");
        Seccomp.preload();
        Log.mark("seccomp");
        warmProtocol();
        Log.mark("protocol");
    }

    /**
     * Protobuf lite makes a message type's schema (reflection over the generated class's fields)
     * the first time a message of that type is built, written or parsed: measured, an idle shim's
     * first request took 9-13 ms to parse, and the spec a few more. One of each message a
     * container's life uses, with every nested message set, goes through bytes and back here.
     */
    static void warmProtocol() {
        var spec = ContainerSpec.newBuilder().setId("warm-up")
                .setRootfs(io.berth.shim.api.Rootfs.newBuilder().addLowerDirs("/"))
                .setProcess(ProcessSpec.newBuilder().addArgs("true").addEnv("A=B").addCapabilities("CAP_CHOWN")
                        .addRlimits(Rlimit.newBuilder().setType("RLIMIT_NOFILE").setSoft(1).setHard(1))
                        .setSeccomp(io.berth.shim.api.Seccomp.newBuilder().setKind(io.berth.shim.api.Seccomp.Kind.LOCALHOST).setProfilePath("/")))
                .addNamespaces(NamespaceRef.newBuilder().setType(NamespaceRef.Type.NET).setPath("/"))
                .addMounts(Mount.newBuilder().setSource("/").setDestination("/").addOptions("rbind"))
                .addMaskedPaths("/").setCgroup(CgroupSpec.newBuilder().setParent("/").setName("n"))
                .setResources(Resources.newBuilder().setCpuShares(2).putHugepageLimits("2MB", 1).putUnified("a", "b"))
                .addDevices(Device.newBuilder().setPath("/dev/x").setType("c"))
                .build();
        var state = State.newBuilder().setStatus(State.Status.RUNNING).build();
        List<com.google.protobuf.MessageLite> samples = List.of(spec,
                ShimRequest.newBuilder().setAdopt(AdoptRequest.newBuilder().setBundle("/")).build(),
                ShimRequest.newBuilder().setStart(StartRequest.getDefaultInstance()).build(),
                ShimRequest.newBuilder().setKill(KillRequest.newBuilder().setSignal(15).setWaitMs(1)).build(),
                ShimRequest.newBuilder().setExec(ExecRequest.newBuilder().addArgs("true").setTimeoutMs(1)).build(),
                ShimRequest.newBuilder().setWait(WaitRequest.newBuilder().setTimeoutMs(1)).build(),
                ShimResponse.newBuilder().setState(state).build(),
                ShimResponse.newBuilder().setExec(ExecResponse.newBuilder().setExitCode(1)).build(),
                ShimResponse.newBuilder().setEmpty(Empty.getDefaultInstance()).build(),
                ExitRecord.newBuilder().setExitCode(1).setReason("Completed").build(),
                ShimReport.newBuilder().setHello(ShimHello.newBuilder().setContainerId("c").setState(state)).build());
        for (var m : samples) {
            try {
                m.getParserForType().parseFrom(m.toByteArray());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new IllegalStateException("protocol warm-up: " + e.getMessage(), e);
            }
        }
    }

    static void writePid(Path bundle) throws IOException {
        long pid = Syscalls.getpid();
        Files.writeString(bundle.resolve(ShimClient.PID), pid + " " + io.berth.kernel.Processes.startTime(pid) + "\n");
    }

    /** Creates the container of {@code bundle} (its shim.pid written) and serves it until it exits. */
    private static void run(Path bundle) throws Exception {
        ContainerSpec spec;
        try {
            spec = ContainerSpec.parseFrom(Files.readAllBytes(bundle.resolve(ShimClient.SPEC)));
        } catch (IOException e) {
            fail(bundle, "read " + bundle.resolve(ShimClient.SPEC) + ": " + e.getMessage());
            return;
        }
        Log.mark("spec");
        var shim = new ShimMain(bundle, spec);
        try {
            shim.container.create();
        } catch (Throwable e) {
            var msg = new StringBuilder(e.getMessage() == null ? e.toString() : e.getMessage());
            for (Throwable s : e.getSuppressed()) msg.append("; ").append(s.getMessage());
            e.printStackTrace();
            fail(bundle, msg.toString());
            return;
        }
        shim.serve();
    }

    private static void fail(Path bundle, String message) throws IOException {
        System.err.println("create failed: " + message);
        AtomicFile.write(bundle.resolve(ShimClient.ERROR), message.getBytes(StandardCharsets.UTF_8));
        exit(1);
    }

    /**
     * Ends the shim's JVM. Runtime.halt, not System.exit: a shim registers no shutdown hook, and
     * since JDK 17 System.exit first asks System.getLogger whether to log the exit, which (logging
     * never having started in a shim, see io.berth.shim.jul) looks for a LoggerFinder provider in
     * every module, ~4 ms of interpreted CPU at the end of every container. Both end in the same
     * VM exit, where a training run writes its AOT cache.
     */
    static void exit(int status) {
        Runtime.getRuntime().halt(status);
    }

    private void serve() throws IOException {
        Path sock = bundle.resolve(ShimClient.SOCKET);
        Path tmp = bundle.resolve(".shim.sock.tmp");
        Files.deleteIfExists(tmp);
        var server = UnixSocket.listen(tmp);
        // Listening before the name appears: the launcher's first connect cannot be refused.
        Files.move(tmp, sock, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Log.mark("socket");
        Log.timeline("container " + container.spec().getId() + " created, pid " + container.pid());
        if (!container.spec().getReportSocket().isEmpty()) {
            reporter = AgentReporter.start(container, Path.of(container.spec().getReportSocket()),
                    container.spec().getStatsIntervalMs());
        }
        while (true) {
            UnixSocket ch = server.accept();
            inFlight.incrementAndGet();
            Thread.ofPlatform().name("request").daemon(true).start(() -> handle(ch));
        }
    }

    private void handle(UnixSocket ch) {
        try (ch) {
            InputStream in = ch.in();
            ShimRequest req = ShimRequest.parseDelimitedFrom(in);
            if (req == null) return;
            // Streams answer for themselves, then keep the connection for their frames.
            switch (req.getRequestCase()) {
                case STREAM_EXEC -> {
                    StreamExec.serve(container, req.getStreamExec(), in, ch.out());
                    return;
                }
                case ATTACH -> {
                    container.attach(req.getAttach(), ch);
                    return;
                }
                default -> {
                }
            }
            ShimResponse resp;
            try {
                resp = dispatch(req);
            } catch (Exception e) {
                resp = ShimResponse.newBuilder().setError(e.getMessage() == null ? e.toString() : e.getMessage()).build();
            }
            OutputStream out = ch.out();
            resp.writeDelimitedTo(out);
            out.flush();
        } catch (IOException e) {
            Log.warn("request: " + e.getMessage());
        } finally {
            inFlight.decrementAndGet();
        }
        if (shutdownRequested) exitNow();
    }

    private volatile boolean shutdownRequested;

    private ShimResponse dispatch(ShimRequest req) throws Exception {
        var ok = ShimResponse.newBuilder().setEmpty(Empty.getDefaultInstance()).build();
        return switch (req.getRequestCase()) {
            case STATE -> ShimResponse.newBuilder().setState(container.state()).build();
            case WAIT -> ShimResponse.newBuilder().setState(container.awaitExit(req.getWait().getTimeoutMs())).build();
            case START -> {
                container.start();
                if (shareMemory) {
                    // From here on the shim mostly waits; what it holds now is what it holds for good.
                    Thread.ofPlatform().name("share-memory").daemon(true).start(ShimMain::markMemoryMergeable);
                }
                yield ShimResponse.newBuilder().setState(container.state()).build();
            }
            case KILL -> {
                container.kill(req.getKill().getSignal(), req.getKill().getAll());
                yield req.getKill().getWaitMs() > 0
                        ? ShimResponse.newBuilder().setState(container.awaitExit(req.getKill().getWaitMs())).build()
                        : ok;
            }
            case EXEC -> ShimResponse.newBuilder().setExec(Exec.run(container, req.getExec())).build();
            case UPDATE_RESOURCES -> {
                container.update(req.getUpdateResources().getResources());
                yield ok;
            }
            case REOPEN_LOG -> {
                container.reopenLog();
                yield ok;
            }
            case ADOPT -> throw new IOException("this shim already serves " + bundle + "; only an idle pool shim adopts");
            case SHUTDOWN -> {
                shutdownRequested = true;
                container.shutdown();
                yield ok;
            }
            case STREAM_EXEC, ATTACH -> throw new IllegalStateException("streams are served by handle()");
            case REQUEST_NOT_SET -> throw new IOException("empty request");
        };
    }

    private static void markMemoryMergeable() {
        try {
            // Later (CHORES_DELAY_MS): walking and madvising every mapping, interpreted, took ~10 ms
            // of CPU right when the agent finishes StartContainer (and a burst's next create needs it).
            Thread.sleep(CHORES_DELAY_MS);
            long bytes = MemorySharing.markMergeable();
            Log.info("memory marked mergeable for KSM: " + (bytes >> 20) + " MiB");
        } catch (RuntimeException e) {
            Log.warn("mark memory mergeable: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The exit is recorded: let requests in flight answer, then go. */
    private void exitSoon() {
        if (exiting) return;
        exiting = true;
        Thread.ofPlatform().name("exit").start(() -> {
            AgentReporter r = reporter;
            if (r != null) {
                // The agent hears of the exit from us first (its STOPPED event); exit.pb is durable anyway.
                r.stateChanged();
                r.awaitExitReported(1000);
            }
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (inFlight.get() > 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    break;
                }
            }
            exitNow();
        });
    }

    private void exitNow() {
        try {
            Files.deleteIfExists(bundle.resolve(ShimClient.SOCKET));
        } catch (IOException e) {
            Log.warn("remove socket: " + e.getMessage());
        }
        exit(0);
    }
}
