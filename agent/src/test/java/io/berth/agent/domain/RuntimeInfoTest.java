package io.berth.agent.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimeInfoTest {
    @TempDir
    Path proc;

    @Test
    void autoPicksSystemdOnlyWhenSystemdIsPidOne() throws Exception {
        Files.createDirectories(proc.resolve("1"));
        Files.writeString(proc.resolve("1/comm"), "systemd\n");
        assertEquals(CgroupDriver.SYSTEMD, RuntimeInfo.cgroupDriver("auto", proc));
        Files.writeString(proc.resolve("1/comm"), "tini\n");
        assertEquals(CgroupDriver.CGROUPFS, RuntimeInfo.cgroupDriver("auto", proc));
    }

    @Test
    void anExplicitDriverWins() {
        assertEquals(CgroupDriver.SYSTEMD, RuntimeInfo.cgroupDriver("systemd", proc));
        assertEquals(CgroupDriver.CGROUPFS, RuntimeInfo.cgroupDriver("cgroupfs", proc));
    }

    @Test
    void versionComesFromTheBuild() {
        assertEquals(true, RuntimeInfo.version().matches("\\d+\\.\\d+\\.\\d+.*"), RuntimeInfo.version());
    }

    @Test
    void conditionsAreOrderedRuntimeThenNetwork() {
        var c = new NodeConditions();
        c.set(NodeConditions.Condition.ready("Zeta"));
        c.set(NodeConditions.Condition.notReady(NodeConditions.NETWORK_READY, "R", "m"));
        c.set(NodeConditions.Condition.ready(NodeConditions.RUNTIME_READY));
        assertEquals(java.util.List.of("RuntimeReady", "NetworkReady", "Zeta"),
                c.all().stream().map(NodeConditions.Condition::type).toList());
    }
}
