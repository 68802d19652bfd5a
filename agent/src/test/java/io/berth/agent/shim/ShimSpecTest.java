package io.berth.agent.shim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.container.ContainerPlan;
import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import io.berth.kernel.seccomp.RuntimeDefault;
import io.berth.shim.api.ContainerSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShimSpecTest {
    private static final List<String> CAPS = List.of("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE");

    @Test
    void runtimeDefaultComesCompiledForTheProcessCapabilities() {
        ContainerSpec spec = ShimRuntime.spec(plan(false, ContainerPlan.Seccomp.Kind.RUNTIME_DEFAULT, ""), CgroupDriver.CGROUPFS);
        var seccomp = spec.getProcess().getSeccomp();
        assertEquals(io.berth.shim.api.Seccomp.Kind.RUNTIME_DEFAULT, seccomp.getKind());
        assertArrayEquals(RuntimeDefault.filter(CAPS), seccomp.getFilter().toByteArray());
    }

    @Test
    void noFilterForPrivilegedUnconfinedOrLocalhost() {
        for (ContainerPlan plan : List.of(plan(true, ContainerPlan.Seccomp.Kind.RUNTIME_DEFAULT, ""),
                plan(false, ContainerPlan.Seccomp.Kind.UNCONFINED, ""),
                plan(false, ContainerPlan.Seccomp.Kind.LOCALHOST, "/etc/profile.json"))) {
            var seccomp = ShimRuntime.spec(plan, CgroupDriver.CGROUPFS).getProcess().getSeccomp();
            assertTrue(seccomp.getFilter().isEmpty(), plan.seccomp() + ", privileged " + plan.privileged());
            assertEquals(plan.seccomp().localhostProfile(), seccomp.getProfilePath());
        }
    }

    private static ContainerPlan plan(boolean privileged, ContainerPlan.Seccomp.Kind kind, String profile) {
        return new ContainerPlan("0123456789abcdef0123", "/run/berth/c/0123456789abcdef", List.of("/layers/1"),
                "/state/upper", "/state/work", false, List.of("sleep", "1"), List.of("PATH=/bin"), "/", 0, 0, List.of(),
                false, false, false, true, CAPS, privileged, new ContainerPlan.Seccomp(kind, profile), 0, "pod",
                List.of(), List.of(), List.of(), List.of(), List.of(), "/berth-test", ContainerPlan.Resources.NONE, "");
    }
}
