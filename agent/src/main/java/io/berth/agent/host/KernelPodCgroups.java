package io.berth.agent.host;

import io.berth.agent.pod.PodCgroups;
import io.berth.kernel.cgroup.Cgroups;
import io.berth.kernel.cgroup.Resources;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/** {@link PodCgroups} on the host's cgroupfs (v1 or v2, as {@link Cgroups#detect} finds it). */
public final class KernelPodCgroups implements PodCgroups {
    private final Cgroups cgroups;

    public KernelPodCgroups(Cgroups cgroups) {
        this.cgroups = cgroups;
    }

    @Override
    public boolean ensure(String parent) {
        Cgroups.validate(parent);
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
    public void remove(String parent) {
        try {
            cgroups.open(parent).remove(Duration.ofSeconds(10));
        } catch (IOException e) {
            throw new UncheckedIOException("remove pod cgroup " + parent + ": " + e.getMessage(), e);
        }
    }
}
