package io.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a shim integration test stands on: a fresh {@link TestContainers} in its own directory for
 * each test, and after the test every container removed and nothing of it left on the host (no
 * mount, no cgroup).
 */
abstract class ShimContainersTest {
    @TempDir
    Path dir;
    TestContainers tc;

    @BeforeEach
    void setUpContainers() throws Exception {
        tc = new TestContainers(dir);
    }

    @AfterEach
    void tearDownContainers() throws Exception {
        tc.close();
        assertEquals(List.of(), tc.leftoverMounts(), "mounts left behind");
        assertEquals(List.of(), tc.leftoverCgroups(), "cgroups left behind");
    }
}
