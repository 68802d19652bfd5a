package io.berth.agent.host;

import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import io.berth.agent.domain.BerthException;
import io.berth.agent.pod.PodCgroups;
import io.berth.agent.pod.PodLimits;
import io.berth.kernel.cgroup.Cgroup;
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
            throw BerthException.invalid("cgroup_parent '" + cgroupParent + "': " + e.getMessage());
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
    public void update(String cgroupParent, PodLimits limits) {
        String parent = CgroupPaths.parent(cgroupParent, driver);
        Cgroup cgroup = cgroups.open(parent);
        if (!cgroup.exists()) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "pod cgroup " + parent + " does not exist");
        }
        if (!limits.unified().isEmpty() && !cgroups.isV2()) {
            throw BerthException.invalid("pod cgroup " + parent + ": unified (cgroup v2) resources "
                    + limits.unified().keySet() + " cannot be applied on this node's cgroup v1");
        }
        try {
            cgroup.apply(new Resources(limits.cpuShares(), limits.cpuQuota(), limits.cpuPeriod(), limits.cpusetCpus(),
                    limits.cpusetMems(), limits.memoryLimitBytes(), 0, limits.hugepageLimits(), limits.unified()));
        } catch (IOException e) {
            // The message names the file and value; the kernel's errno says whose fault it is.
            String m = e.getMessage();
            BerthException.Kind kind = m.endsWith("Invalid argument") ? BerthException.Kind.INVALID_ARGUMENT
                    : m.endsWith("Device or resource busy") ? BerthException.Kind.FAILED_PRECONDITION // memory below usage
                    : m.contains(Cgroup.CONTROLLER_NOT_ENABLED) ? BerthException.Kind.FAILED_PRECONDITION
                    : BerthException.Kind.INTERNAL;
            throw new BerthException(kind, "update pod cgroup " + parent + ": " + m, e);
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
