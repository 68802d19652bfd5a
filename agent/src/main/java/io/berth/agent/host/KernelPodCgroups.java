package io.berth.agent.host;

import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import io.berth.agent.pod.PodCgroups;
import io.berth.kernel.cgroup.Cgroups;
import io.berth.kernel.cgroup.Resources;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/** {@link PodCgroups} on the host's cgroupfs (v1 or v2, as {@link Cgroups#detect} finds it). */
public final class KernelPodCgroups implements PodCgroups {
    private final Cgroups cgroups;
    private final CgroupDriver driver;

    public KernelPodCgroups(Cgroups cgroups, CgroupDriver driver) {
        this.cgroups = cgroups;
        this.driver = driver;
    }

    @Override
    public boolean ensure(String cgroupParent) {
        String parent = CgroupPaths.parent(cgroupParent, driver);
        try {
            Cgroups.validate(parent);
        } catch (IllegalArgumentException e) {
            throw io.berth.agent.domain.BerthException.invalid("cgroup_parent '" + cgroupParent + "': " + e.getMessage());
        }
        if (cgroups.open(parent).exists()) {
            return false; // kubelet made it (cgroupsPerQOS), or another pod attempt did: not ours to remove
        }
        try {
            cgroups.create(parent, Resources.NONE);
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("create pod cgroup " + parent + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void remove(String cgroupParent) {
        String parent = CgroupPaths.parent(cgroupParent, driver);
        try {
            cgroups.open(parent).remove(Duration.ofSeconds(10));
        } catch (IOException e) {
            throw new UncheckedIOException("remove pod cgroup " + parent + ": " + e.getMessage(), e);
        }
    }
}
