package io.berth.agent.domain;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/** Facts about this runtime and the node it runs on that do not change while it runs. */
public final class RuntimeInfo {
    public static final String NAME = "berth";
    public static final String CRI_API_VERSION = "v1";

    private RuntimeInfo() {
    }

    /** The version this build was made from (the Maven project version). */
    public static String version() {
        try (InputStream in = RuntimeInfo.class.getResourceAsStream("/io/berth/agent/version.properties")) {
            if (in == null) {
                return "unknown";
            }
            var props = new Properties();
            props.load(in);
            return props.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public enum CgroupDriver { CGROUPFS, SYSTEMD }

    /**
     * The cgroup driver: as configured, or for "auto" systemd when systemd is pid 1 (it then owns
     * the cgroup tree and kubelet must go through it), else cgroupfs.
     *
     * @param procRoot where procfs is mounted, {@code /proc} outside of tests
     */
    public static CgroupDriver cgroupDriver(String configured, Path procRoot) {
        return switch (configured) {
            case "systemd" -> CgroupDriver.SYSTEMD;
            case "cgroupfs" -> CgroupDriver.CGROUPFS;
            default -> {
                try {
                    String init = Files.readString(procRoot.resolve("1/comm")).strip();
                    yield init.equals("systemd") ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
                } catch (IOException e) {
                    yield CgroupDriver.CGROUPFS;
                }
            }
        };
    }
}
