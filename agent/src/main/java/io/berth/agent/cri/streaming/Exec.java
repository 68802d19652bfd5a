package io.berth.agent.cri.streaming;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.agent.streaming.StreamRequest;
import io.berth.agent.streaming.StreamTargets;
import io.berth.agent.streaming.StreamingServer;
import io.berth.cri.v1.ExecRequest;
import io.berth.cri.v1.ExecResponse;

/**
 * CRI Exec: validates as kubelet's streaming server does (validateExecRequest: a container id,
 * not tty with stderr, at least one stream), checks the container runs, and returns a single-use
 * URL on the streaming server; the command runs when the client connects to it.
 */
public final class Exec implements Handler<ExecRequest, ExecResponse> {
    private final StreamingServer server;
    private final StreamTargets targets;

    public Exec(StreamingServer server, StreamTargets targets) {
        this.server = server;
        this.targets = targets;
    }

    @Override
    public ExecResponse handle(ExecRequest r) {
        if (r.getContainerId().isEmpty()) throw BerthException.invalid("exec: missing required container_id");
        if (r.getCmdCount() == 0) throw BerthException.invalid("exec in container " + r.getContainerId() + ": cmd is empty");
        if (r.getTty() && r.getStderr()) {
            // With a tty stdout and stderr are one stream: multiplexing them is impossible.
            throw BerthException.invalid("exec in container " + r.getContainerId() + ": tty and stderr cannot both be true");
        }
        if (!r.getStdin() && !r.getStdout() && !r.getStderr()) {
            throw BerthException.invalid("exec in container " + r.getContainerId()
                    + ": one of stdin, stdout, or stderr must be set");
        }
        var request = new StreamRequest.Exec(r.getContainerId(), r.getCmdList(), r.getTty(), r.getStdin(), r.getStdout(),
                r.getStderr());
        targets.check(request);
        return ExecResponse.newBuilder().setUrl(server.url(request)).build();
    }
}
