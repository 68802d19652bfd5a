package io.berth.agent.cri.runtime;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.RuntimeInfo;
import io.berth.cri.v1.CgroupDriver;
import io.berth.cri.v1.LinuxRuntimeConfiguration;
import io.berth.cri.v1.RuntimeConfigRequest;
import io.berth.cri.v1.RuntimeConfigResponse;

/**
 * CRI RuntimeConfig: tells kubelet which cgroup driver to use (KEP-4033). It must not change while
 * kubelet runs, so it is decided once, at start.
 */
public final class RuntimeConfig implements Handler<RuntimeConfigRequest, RuntimeConfigResponse> {
    private final RuntimeConfigResponse answer;

    public RuntimeConfig(RuntimeInfo.CgroupDriver driver) {
        answer = RuntimeConfigResponse.newBuilder()
                .setLinux(LinuxRuntimeConfiguration.newBuilder()
                        .setCgroupDriver(driver == RuntimeInfo.CgroupDriver.SYSTEMD
                                ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS))
                .build();
    }

    @Override
    public RuntimeConfigResponse handle(RuntimeConfigRequest request) {
        return answer;
    }
}
