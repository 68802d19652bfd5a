package io.berth.agent.cri.runtime;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.NodeConditions;
import io.berth.cri.v1.RuntimeCondition;
import io.berth.cri.v1.RuntimeHandler;
import io.berth.cri.v1.RuntimeHandlerFeatures;
import io.berth.cri.v1.RuntimeStatus;
import io.berth.cri.v1.StatusRequest;
import io.berth.cri.v1.StatusResponse;
import java.util.function.Supplier;

/**
 * CRI Status: the node's RuntimeReady and NetworkReady conditions, which decide whether kubelet
 * reports the node Ready. With {@code verbose}, the info map carries the effective configuration
 * as JSON under "config".
 */
public final class Status implements Handler<StatusRequest, StatusResponse> {
    private final NodeConditions conditions;
    private final Supplier<String> configJson;

    public Status(NodeConditions conditions, Supplier<String> configJson) {
        this.conditions = conditions;
        this.configJson = configJson;
    }

    @Override
    public StatusResponse handle(StatusRequest request) {
        var status = RuntimeStatus.newBuilder();
        for (var c : conditions.all()) {
            status.addConditions(RuntimeCondition.newBuilder()
                    .setType(c.type()).setStatus(c.status()).setReason(c.reason()).setMessage(c.message()));
        }
        var response = StatusResponse.newBuilder()
                .setStatus(status)
                // The default handler (""): neither recursive read-only mounts nor user namespaces,
                // which would need a single-threaded native launcher (see DESIGN.md).
                .addRuntimeHandlers(RuntimeHandler.newBuilder()
                        .setName("")
                        .setFeatures(RuntimeHandlerFeatures.newBuilder()
                                .setRecursiveReadOnlyMounts(false)
                                .setUserNamespaces(false)));
        if (request.getVerbose()) {
            response.putInfo("config", configJson.get());
        }
        return response.build();
    }
}
