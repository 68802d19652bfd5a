package io.berth.agent.cri.container;

import com.google.protobuf.ByteString;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.ExecSyncResponse;
import java.time.Duration;

/**
 * CRI ExecSync (exec probes, lifecycle hooks): runs a command in the container and returns its
 * output, each stream capped at 16 MiB by the shim (as containerd caps it, CVE-2022-1708).
 * A timeout of 0 means none; one that expires is DEADLINE_EXCEEDED, the process killed.
 */
public final class ExecSync implements Handler<ExecSyncRequest, ExecSyncResponse> {
    private final ContainerManager containers;

    public ExecSync(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public ExecSyncResponse handle(ExecSyncRequest request) {
        Duration timeout = request.getTimeout() > 0 ? Duration.ofSeconds(request.getTimeout()) : Duration.ZERO;
        var result = containers.execSync(request.getContainerId(), request.getCmdList(), timeout);
        if (result.timedOut()) {
            throw new BerthException(BerthException.Kind.DEADLINE_EXCEEDED, "command " + request.getCmdList()
                    + " in container " + request.getContainerId() + " timed out after " + request.getTimeout() + "s");
        }
        return ExecSyncResponse.newBuilder()
                .setExitCode(result.exitCode())
                .setStdout(ByteString.copyFrom(result.stdout()))
                .setStderr(ByteString.copyFrom(result.stderr()))
                .build();
    }
}
