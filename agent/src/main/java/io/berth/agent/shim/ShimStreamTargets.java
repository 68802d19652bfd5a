package io.berth.agent.shim;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.domain.BerthException;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.PodNamespaces;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.streaming.Stdio;
import io.berth.agent.streaming.StreamRequest;
import io.berth.agent.streaming.StreamTargets;
import io.berth.kernel.DedicatedThread;
import io.berth.shim.api.AttachRequest;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.ShimException;
import io.berth.shim.api.ShimStream;
import io.berth.shim.api.StreamExecRequest;
import io.berth.shim.api.StreamFrame;
import io.berth.shim.api.TerminalSize;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * {@link StreamTargets} over the real shims and pod namespaces: exec and attach are shim streams,
 * port-forward connections are opened by a thread that joined the pod's network namespace (a
 * socket stays in the namespace it was created in: DESIGN.md), never through a host-side port.
 */
public final class ShimStreamTargets implements StreamTargets {
    private final ContainerManager containers;
    private final PodManager pods;

    public ShimStreamTargets(ContainerManager containers, PodManager pods) {
        this.containers = containers;
        this.pods = pods;
    }

    @Override
    public void check(StreamRequest request) {
        switch (request) {
            case StreamRequest.Exec e -> running(e.containerId(), "exec in");
            case StreamRequest.Attach a -> running(a.containerId(), "attach to");
            case StreamRequest.PortForward p -> ready(p.sandboxId());
        }
    }

    /** The exec or attach then goes to the shim, which refuses it if the container has exited meanwhile. */
    private Container running(String id, String what) {
        Container c = containers.record(id);
        if (c.state() != Container.State.RUNNING) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "cannot " + what + " container " + c.id()
                    + ": it is " + c.state() + ", not RUNNING");
        }
        return c;
    }

    private Sandbox ready(String id) {
        Sandbox s = pods.get(id);
        if (s.state() != Sandbox.State.READY) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "cannot forward a port to pod sandbox "
                    + s.id() + ": it is " + s.state() + ", not READY");
        }
        return s;
    }

    @Override
    public Stdio exec(StreamRequest.Exec request, int width, int height) {
        Container c = running(request.containerId(), "exec in");
        // A copy: see ShimRuntime.spec.
        var req = StreamExecRequest.newBuilder().addAllArgs(List.copyOf(request.cmd())).setTty(request.tty())
                .setStdin(request.stdin());
        if (request.tty() && width > 0 && height > 0) {
            req.setSize(TerminalSize.newBuilder().setWidth(width).setHeight(height));
        }
        try {
            return new ShimStdio(ShimClient.connect(Path.of(c.bundleDir())).streamExec(req.build()));
        } catch (ShimException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "exec " + request.cmd() + " in container " + c.id()
                    + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Stdio attach(StreamRequest.Attach request) {
        Container c = running(request.containerId(), "attach to");
        try {
            return new ShimStdio(ShimClient.connect(Path.of(c.bundleDir())).attach(AttachRequest.newBuilder()
                    .setStdin(request.stdin()).setStdout(request.stdout()).setStderr(request.stderr()).build()));
        } catch (ShimException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "attach to container " + c.id() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Connects to localhost:PORT in the pod, as containerd does (net.Dial "localhost:PORT" inside
     * the netns): 127.0.0.1 first, then ::1 for a server that listens on IPv6 only.
     */
    @Override
    public SocketChannel connect(String sandboxId, int port) throws IOException {
        Sandbox s = ready(sandboxId);
        if (s.hostNetwork()) {
            return open(port);
        }
        Path netns = PodNamespaces.pin(Path.of(s.pinsDir()), PodNamespaces.Kind.NET);
        try {
            return DedicatedThread.inNetns(netns, () -> open(port));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException("connect to port " + port + " in the network namespace " + netns + ": "
                    + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while connecting to port " + port + " of pod " + sandboxId, e);
        }
    }

    private static SocketChannel open(int port) throws IOException {
        try {
            return SocketChannel.open(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), port));
        } catch (ConnectException v4) {
            try {
                return SocketChannel.open(new InetSocketAddress(InetAddress.getByName("::1"), port));
            } catch (IOException v6) {
                v4.addSuppressed(v6);
                throw new ConnectException("dial tcp localhost:" + port + ": " + v4.getMessage());
            }
        }
    }

    /** A shim stream as {@link Stdio}. */
    private record ShimStdio(ShimStream stream) implements Stdio {
        @Override
        public Output read() throws IOException {
            StreamFrame f = stream.read();
            if (f == null) return null;
            return switch (f.getFrameCase()) {
                case STDOUT -> new Stdout(f.getStdout().toByteArray());
                case STDERR -> new Stderr(f.getStderr().toByteArray());
                case EXIT -> new Exit(f.getExit().getExitCode(), f.getExit().getSignal(), f.getExit().getError());
                default -> throw new IOException("unexpected frame " + f.getFrameCase() + " from the shim");
            };
        }

        @Override
        public void stdin(byte[] data) throws IOException {
            stream.stdin(data);
        }

        @Override
        public void stdinEof() throws IOException {
            stream.stdinEof();
        }

        @Override
        public void resize(int width, int height) throws IOException {
            stream.resize(width, height);
        }

        @Override
        public void close() {
            stream.close();
        }
    }
}
