package io.berth.agent.streaming;

import java.util.List;

/**
 * What a streaming URL was issued for, kept under its token until the client comes (kubelet's
 * streaming server caches the CRI request the same way: k8s.io/kubelet/pkg/cri/streaming/server.go).
 */
public sealed interface StreamRequest {
    /** CRI ExecRequest: a command in a container, with the stdio streams the client wants. */
    record Exec(String containerId, List<String> cmd, boolean tty, boolean stdin, boolean stdout, boolean stderr)
            implements StreamRequest {
        public Exec {
            cmd = List.copyOf(cmd);
        }
    }

    /** CRI AttachRequest: the container's own stdio. */
    record Attach(String containerId, boolean tty, boolean stdin, boolean stdout, boolean stderr) implements StreamRequest {
    }

    /** CRI PortForwardRequest: ports in the pod's network namespace (empty: any port the client asks for). */
    record PortForward(String sandboxId, List<Integer> ports) implements StreamRequest {
        public PortForward {
            ports = List.copyOf(ports);
        }
    }

    /** The URL path segment: /exec/TOKEN, /attach/TOKEN, /portforward/TOKEN. */
    default String kind() {
        return switch (this) {
            case Exec e -> "exec";
            case Attach a -> "attach";
            case PortForward p -> "portforward";
        };
    }
}
