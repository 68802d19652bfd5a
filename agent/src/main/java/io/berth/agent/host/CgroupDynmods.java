package io.berth.agent.host;

import io.berth.agent.log.Log;
import io.berth.kernel.MountFlags;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import io.berth.kernel.cgroup.Cgroups;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Task migrations without the kernel's grace-period wait. Moving a task into a cgroup takes
 * cgroup_threadgroup_rwsem for writing, and by default that waits out an RCU grace period
 * (10-20 ms on this machine) unless the kernel keeps the rwsem in its "favor dynamic
 * modifications" mode: the {@code favordynmods} cgroup mount option, which makes forks and exits
 * a little dearer instead (Documentation/admin-guide/cgroup-v2.rst). berth moves a thread on every
 * container create and every exec, so it asks for that mode: on a cgroup v1 host by mounting a
 * named v1 hierarchy of its own, without controllers ({@code name=berth}), with favordynmods at
 * {@code RUN_DIR/cgroup-dynmods}; the mode is kernel-wide while any hierarchy holds it. The agent
 * unmounts it when it stops. A v2 host gets the mode from its own mount options: the agent only
 * says whether it is on. Config: {@code cgroup_favor_dynmods}.
 */
public final class CgroupDynmods implements AutoCloseable {
    private static final Log LOG = Log.get(CgroupDynmods.class);
    static final String OPTIONS = "none,name=berth,favordynmods";

    private final Path mountPoint;

    private CgroupDynmods(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    /** Turns the mode on as far as this host allows; never fails the agent's start. */
    public static CgroupDynmods favor(Path runDir) {
        try {
            if (Cgroups.host().isV2()) {
                boolean on = mountOptions(Cgroups.DEFAULT_ROOT).contains("favordynmods");
                LOG.info("cgroup v2 host: task migrations " + (on ? "are fast (favordynmods is on)"
                        : "wait for an RCU grace period; mount the cgroup2 root with favordynmods to avoid it"));
                return new CgroupDynmods(null);
            }
            Path dir = runDir.resolve("cgroup-dynmods");
            Files.createDirectories(dir);
            if (!mountOptions(dir).contains("favordynmods")) {
                Syscalls.mount("cgroup", dir, "cgroup", 0, OPTIONS);
            }
            LOG.info("cgroup task migrations favoured (favordynmods)", "hierarchy", dir);
            return new CgroupDynmods(dir);
        } catch (IOException | SyscallException e) {
            LOG.warn("cgroup favordynmods not available: every create and exec waits for an RCU grace period",
                    "error", e.getMessage());
            return new CgroupDynmods(null);
        }
    }

    /** The options of the mount at {@code dir} (its last mount in /proc/self/mountinfo), or "". */
    static String mountOptions(Path dir) throws IOException {
        String found = "";
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].equals(dir.toString())) {
                found = line.substring(line.indexOf(" - ") + 3);
            }
        }
        return found;
    }

    @Override
    public void close() {
        if (mountPoint == null) return;
        try {
            Syscalls.umount2(mountPoint, MountFlags.MNT_DETACH);
            Files.deleteIfExists(mountPoint);
        } catch (IOException | SyscallException e) {
            LOG.warn("unmount " + mountPoint + ": " + e.getMessage());
        }
    }
}
