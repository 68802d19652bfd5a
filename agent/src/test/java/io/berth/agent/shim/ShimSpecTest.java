package io.berth.agent.shim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.container.ContainerPlan;
import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import io.berth.kernel.seccomp.BpfCompiler;
import io.berth.kernel.seccomp.OciSeccomp;
import io.berth.kernel.seccomp.RuntimeDefault;
import io.berth.shim.api.ContainerSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    void noFilterForPrivilegedOrUnconfined() {
        for (ContainerPlan plan : List.of(plan(true, ContainerPlan.Seccomp.Kind.RUNTIME_DEFAULT, ""),
                plan(false, ContainerPlan.Seccomp.Kind.UNCONFINED, ""))) {
            var seccomp = ShimRuntime.spec(plan, CgroupDriver.CGROUPFS).getProcess().getSeccomp();
            assertTrue(seccomp.getFilter().isEmpty(), plan.seccomp() + ", privileged " + plan.privileged());
        }
    }

    @Test
    void aLocalhostProfileComesCompiledFromItsFile(@TempDir Path dir) throws Exception {
        String json = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"write\","
                + " \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
        Path profile = Files.writeString(dir.resolve("profile.json"), json);
        var seccomp = ShimRuntime.spec(plan(false, ContainerPlan.Seccomp.Kind.LOCALHOST, profile.toString()),
                CgroupDriver.CGROUPFS).getProcess().getSeccomp();
        assertEquals(profile.toString(), seccomp.getProfilePath());
        assertArrayEquals(BpfCompiler.compile(OciSeccomp.parse(json, Set.copyOf(CAPS), System.getProperty("os.version"))),
                seccomp.getFilter().toByteArray());
    }

    @Test
    void aLocalhostProfileThatIsMissingOrBrokenIsAnInvalidArgumentNamingTheFile(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.json");
        Path broken = Files.writeString(dir.resolve("broken.json"), "{\"syscalls\": []}");
        for (Path profile : List.of(missing, broken)) {
            var e = assertThrows(BerthException.class, () -> ShimRuntime.spec(
                    plan(false, ContainerPlan.Seccomp.Kind.LOCALHOST, profile.toString()), CgroupDriver.CGROUPFS));
            assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
            assertTrue(e.getMessage().contains(profile.toString()), e.getMessage());
        }
    }

    private static ContainerPlan plan(boolean privileged, ContainerPlan.Seccomp.Kind kind, String profile) {
        return new ContainerPlan("0123456789abcdef0123", "/run/berth/c/0123456789abcdef", List.of("/layers/1"),
                "/state/upper", "/state/work", false, List.of("sleep", "1"), List.of("PATH=/bin"), "/", 0, 0, List.of(),
                false, false, false, true, CAPS, privileged, new ContainerPlan.Seccomp(kind, profile), 0, "pod",
                List.of(), List.of(), List.of(), List.of(), List.of(), "/berth-test", ContainerPlan.Resources.NONE, "");
    }
}
