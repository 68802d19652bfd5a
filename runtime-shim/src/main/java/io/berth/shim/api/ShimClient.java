package io.berth.shim.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The agent's handle on one shim, over BUNDLE/shim.sock (one request per connection, varint
 * length-delimited protobuf). Cheap to create; holds no connection. When the shim has gone
 * because its container exited, {@link #state()} answers from the durable BUNDLE/exit.pb and
 * {@link #kill} is a no-op, so callers need no second code path.
 */
public final class ShimClient {
    public static final String SPEC = "spec.pb";
    public static final String SOCKET = "shim.sock";
    public static final String PID = "shim.pid";
    public static final String EXIT = "exit.pb";
    public static final String ERROR = "shim.err";
    public static final String LOG = "shim.log";

    private final Path bundle;

    private ShimClient(Path bundle) {
        this.bundle = bundle.toAbsolutePath();
    }

    /** A client for the shim of {@code bundle}, e.g. after an agent restart. Does not check liveness. */
    public static ShimClient connect(Path bundle) {
        return new ShimClient(bundle);
    }

    public Path bundle() {
        return bundle;
    }

    public State state() throws ShimException {
        try {
            return call(ShimRequest.newBuilder().setState(StateRequest.getDefaultInstance()).build()).getState();
        } catch (ShimGoneException e) {
            ExitRecord exit = exitRecord();
            if (exit == null) {
                // Not listening and no exit record: killed, most likely. A killed JVM's socket
                // closes before the kernel has torn the whole process down, and /proc shows it
                // meanwhile; wait for that, so that alive() answers as the caller will ask next.
                awaitGone(GONE_GRACE);
                exit = exitRecord();
            }
            if (exit == null) {
                throw new ShimException("shim of " + bundle + " is gone and left no " + EXIT
                        + " (killed before its container exited?)", e);
            }
            return exited(exit);
        }
    }

    /** The state a gone shim's exit record stands for. */
    private static State exited(ExitRecord exit) {
        return State.newBuilder().setStatus(State.Status.EXITED).setPid(exit.getPid())
                .setStartedAt(exit.getStartedAt()).setFinishedAt(exit.getFinishedAt())
                .setExitCode(exit.getExitCode()).setSignal(exit.getSignal()).setReason(exit.getReason())
                .setMessage(exit.getMessage()).build();
    }

    /**
     * Blocks until the container has exited (its exit recorded) or {@code timeout} has passed, and
     * returns its state then; from exit.pb when the shim is already gone.
     */
    public State await(java.time.Duration timeout) throws ShimException {
        try {
            return call(ShimRequest.newBuilder().setWait(WaitRequest.newBuilder().setTimeoutMs(timeout.toMillis())).build())
                    .getState();
        } catch (ShimGoneException e) {
            return state();
        }
    }

    /**
     * Releases the container's process from the start gate; returns once it has exec'd, with the
     * state right after (null from a shim of an older berth, which answered with nothing).
     */
    public State start() throws ShimException {
        ShimResponse r = call(ShimRequest.newBuilder().setStart(StartRequest.getDefaultInstance()).build());
        return r.hasState() ? r.getState() : null;
    }

    /** Signals pid 1 (or every process of the container); a container that already exited is fine. */
    public void kill(int signal, boolean all) throws ShimException {
        try {
            call(ShimRequest.newBuilder().setKill(KillRequest.newBuilder().setSignal(signal).setAll(all)).build());
        } catch (ShimGoneException e) {
            if (exitRecord() == null) throw e;
        }
    }

    /**
     * Signals pid 1, then waits up to {@code timeout} for the exit: one exchange. Returns the state
     * then (EXITED, or still RUNNING at the timeout); null from a shim of an older berth, which
     * only signals (the caller then waits with {@link #await}).
     */
    public State killAndAwait(int signal, java.time.Duration timeout) throws ShimException {
        try {
            ShimResponse r = call(ShimRequest.newBuilder().setKill(KillRequest.newBuilder().setSignal(signal)
                    .setWaitMs(Math.max(1, timeout.toMillis()))).build());
            return r.hasState() ? r.getState() : null;
        } catch (ShimGoneException e) {
            ExitRecord exit = exitRecord();
            if (exit == null) throw e;
            return exited(exit);
        }
    }

    public ExecResponse exec(ExecRequest request) throws ShimException {
        return call(ShimRequest.newBuilder().setExec(request).build()).getExec();
    }

    /** Starts a process in the container whose stdio is the returned stream (CRI Exec). */
    public ShimStream streamExec(StreamExecRequest request) throws ShimException {
        return open(ShimRequest.newBuilder().setStreamExec(request).build());
    }

    /** Attaches to the container's own stdio (CRI Attach). */
    public ShimStream attach(AttachRequest request) throws ShimException {
        return open(ShimRequest.newBuilder().setAttach(request).build());
    }

    /** A request on its own connection, answered; the connection stays open for a stream's frames. */
    private record Exchange(SocketChannel channel, InputStream in, ShimResponse response) {
    }

    private ShimStream open(ShimRequest request) throws ShimException {
        Exchange x = exchange(request);
        return new ShimStream(x.channel(), x.in());
    }

    private Exchange exchange(ShimRequest request) throws ShimException {
        Path sock = bundle.resolve(SOCKET);
        SocketChannel ch;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw new ShimException("socket for " + sock + ": " + e.getMessage(), e);
        }
        try {
            try {
                ch.connect(UnixDomainSocketAddress.of(sock));
            } catch (IOException e) {
                throw new ShimGoneException("connect " + sock + ": " + e.getMessage(), e);
            }
            OutputStream out = Channels.newOutputStream(ch);
            request.writeDelimitedTo(out);
            out.flush();
            InputStream in = Channels.newInputStream(ch);
            ShimResponse resp = ShimResponse.parseDelimitedFrom(in);
            if (resp == null) {
                throw new ShimGoneException("shim at " + sock + " closed the connection without answering "
                        + request.getRequestCase(), null);
            }
            if (!resp.getError().isEmpty()) {
                throw new ShimException(resp.getError());
            }
            return new Exchange(ch, in, resp);
        } catch (ShimException e) {
            closeQuietly(ch);
            throw e;
        } catch (IOException e) {
            // Reset or EOF: the shim exited between accepting and answering (it does so right after
            // recording the exit); callers fall back to exit.pb.
            closeQuietly(ch);
            throw new ShimGoneException(request.getRequestCase() + " via " + sock + ": " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing to release
        }
    }

    public void updateResources(Resources resources) throws ShimException {
        call(ShimRequest.newBuilder().setUpdateResources(UpdateResourcesRequest.newBuilder().setResources(resources)).build());
    }

    public void reopenLog() throws ShimException {
        call(ShimRequest.newBuilder().setReopenLog(ReopenLogRequest.getDefaultInstance()).build());
    }

    /** Stops the shim: kills a container that is still there (created or running), cleans up, exits. */
    public void shutdown() throws ShimException {
        try {
            call(ShimRequest.newBuilder().setShutdown(ShutdownRequest.getDefaultInstance()).build());
        } catch (ShimGoneException e) {
            // already gone: nothing to shut down
        }
    }

    /** Whether the shim process still exists (pid and start time from BUNDLE/shim.pid). */
    public boolean alive() {
        long[] pid = shimPid(bundle);
        return pid != null && startTime(pid[0]) == pid[1];
    }

    /** How long a shim that stopped listening may take to be gone from /proc. */
    private static final java.time.Duration GONE_GRACE = java.time.Duration.ofSeconds(2);

    private void awaitGone(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (alive() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The exit record, or null if the container has not exited (or its shim died first). */
    public ExitRecord exitRecord() throws ShimException {
        try {
            return ExitRecord.parseFrom(Files.readAllBytes(bundle.resolve(EXIT)));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ShimException("read " + bundle.resolve(EXIT) + ": " + e.getMessage(), e);
        }
    }

    /** The shim's pid and start time, or null. */
    static long[] shimPid(Path bundle) {
        try {
            String[] f = Files.readString(bundle.resolve(PID)).trim().split("\\s+");
            return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Field 22 of /proc/PID/stat (start time in clock ticks since boot), -1 if there is no such process. */
    static long startTime(long pid) {
        try {
            var stat = io.berth.kernel.Processes.stat(pid);
            // A zombie (state Z) is gone for our purposes.
            return stat.field(3).equals("Z") ? -1 : stat.number(22);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The shim is not listening (exited, or never came up). */
    static final class ShimGoneException extends ShimException {
        ShimGoneException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private ShimResponse call(ShimRequest request) throws ShimException {
        Exchange x = exchange(request);
        closeQuietly(x.channel());
        return x.response();
    }
}
