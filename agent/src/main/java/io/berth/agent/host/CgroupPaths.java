package io.berth.agent.host;

import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.RuntimeInfo.CgroupDriver;

/**
 * kubelet's cgroup names → cgroupfs paths. With the cgroupfs driver kubelet sends paths
 * ({@code /kubepods/besteffort/pod<uid>}) that are used as they are. With the systemd driver it sends
 * slice names ({@code kubepods-besteffort-pod<uid>.slice}) in which each dash is a level of the
 * hierarchy (systemd.slice(5)); they expand to
 * {@code /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice}, and a
 * container's cgroup is a scope in it, {@code berth-<id>.scope}, as runc's systemd driver and CRI-O
 * name theirs. berth writes those directories itself, as runc's cgroupfs code does under systemd's tree.
 */
public final class CgroupPaths {
    private CgroupPaths() {
    }

    public static String parent(String cgroupParent, CgroupDriver driver) {
        if (driver == CgroupDriver.CGROUPFS || cgroupParent.isEmpty()) {
            return cgroupParent;
        }
        if (cgroupParent.startsWith("/")) {
            return cgroupParent; // already a path (kubelet passes the expanded form on some versions)
        }
        if (!cgroupParent.endsWith(".slice") || cgroupParent.contains("/")) {
            throw BerthException.invalid("cgroup_parent '" + cgroupParent + "' is not a systemd slice name"
                    + " (like kubepods-besteffort-pod1234.slice), as the systemd cgroup driver needs");
        }
        String name = cgroupParent.substring(0, cgroupParent.length() - ".slice".length());
        if (name.isEmpty() || name.startsWith("-") || name.endsWith("-") || name.contains("--")) {
            throw BerthException.invalid("cgroup_parent '" + cgroupParent + "' is not a valid slice name (systemd.slice(5))");
        }
        var path = new StringBuilder();
        String[] parts = name.split("-");
        var prefix = new StringBuilder();
        for (String part : parts) {
            if (!prefix.isEmpty()) {
                prefix.append('-');
            }
            prefix.append(part);
            path.append('/').append(prefix).append(".slice");
        }
        return path.toString();
    }

    public static String containerName(String containerId, CgroupDriver driver) {
        return driver == CgroupDriver.SYSTEMD ? "berth-" + containerId + ".scope" : containerId;
    }
}
