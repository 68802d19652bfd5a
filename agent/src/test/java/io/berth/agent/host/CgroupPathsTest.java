package io.berth.agent.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import org.junit.jupiter.api.Test;

class CgroupPathsTest {
    @Test
    void systemdSlicesExpandByTheirDashes() {
        assertEquals("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12ab.slice",
                CgroupPaths.parent("kubepods-besteffort-pod12ab.slice", CgroupDriver.SYSTEMD));
        assertEquals("/kubepods.slice", CgroupPaths.parent("kubepods.slice", CgroupDriver.SYSTEMD));
        assertEquals("berth-abc.scope", CgroupPaths.containerName("abc", CgroupDriver.SYSTEMD));
    }

    @Test
    void cgroupfsPathsPassThrough() {
        assertEquals("/kubepods/besteffort/pod1", CgroupPaths.parent("/kubepods/besteffort/pod1", CgroupDriver.CGROUPFS));
        assertEquals("abc", CgroupPaths.containerName("abc", CgroupDriver.CGROUPFS));
        assertEquals("", CgroupPaths.parent("", CgroupDriver.SYSTEMD));
    }

    @Test
    void badSliceNamesAreRefused() {
        for (String bad : new String[] {"kubepods", "-a.slice", "a--b.slice", "a/b.slice", "a-.slice"}) {
            var e = assertThrows(BerthException.class, () -> CgroupPaths.parent(bad, CgroupDriver.SYSTEMD), bad);
            assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
        }
    }
}
