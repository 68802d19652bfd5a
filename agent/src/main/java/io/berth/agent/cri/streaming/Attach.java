package io.berth.agent.cri.streaming;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.agent.streaming.StreamRequest;
import io.berth.agent.streaming.StreamTargets;
import io.berth.agent.streaming.StreamingServer;
import io.berth.cri.v1.AttachRequest;
import io.berth.cri.v1.AttachResponse;

/**
 * CRI Attach: validates as kubelet's streaming server does (validateAttachRequest), checks the
 * container runs, and returns a single-use URL on the streaming server.
 */
public final class Attach implements Handler<AttachRequest, AttachResponse> {
    private final StreamingServer server;
    private final StreamTargets targets;

    public Attach(StreamingServer server, StreamTargets targets) {
        this.server = server;
        this.targets = targets;
    }

    @Override
    public AttachResponse handle(AttachRequest r) {
        if (r.getContainerId().isEmpty()) throw BerthException.invalid("attach: missing required container_id");
        if (r.getTty() && r.getStderr()) {
            throw BerthException.invalid("attach to container " + r.getContainerId() + ": tty and stderr cannot both be true");
        }
        if (!r.getStdin() && !r.getStdout() && !r.getStderr()) {
            throw BerthException.invalid("attach to container " + r.getContainerId()
                    + ": one of stdin, stdout, and stderr must be set");
        }
        var request = new StreamRequest.Attach(r.getContainerId(), r.getTty(), r.getStdin(), r.getStdout(), r.getStderr());
        targets.check(request);
        return AttachResponse.newBuilder().setUrl(server.url(request)).build();
    }
}
