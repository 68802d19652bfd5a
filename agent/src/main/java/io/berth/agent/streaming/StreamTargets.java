package io.berth.agent.streaming;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * What the streaming server connects its clients to: processes in containers (through their
 * shims) and ports in pods' network namespaces. Failures are {@link io.berth.agent.domain.BerthException}s
 * naming the container or pod.
 */
public interface StreamTargets {
    /** Starts the command; {@code width}/{@code height} is the first terminal size (0: unknown). */
    Stdio exec(StreamRequest.Exec request, int width, int height);

    Stdio attach(StreamRequest.Attach request);

    /** A TCP connection to {@code port} on the pod's loopback, opened inside its network namespace. */
    SocketChannel connect(String sandboxId, int port) throws IOException;

    /** Checks that the container (exec/attach) or pod (port-forward) can be streamed to now. */
    void check(StreamRequest request);
}
