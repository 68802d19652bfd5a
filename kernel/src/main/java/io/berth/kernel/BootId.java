package io.berth.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The kernel's random id of this boot (proc(5), /proc/sys/kernel/random/boot_id): what tells state of an earlier boot. */
public final class BootId {
    private BootId() {
    }

    public static String current() throws IOException {
        return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
    }
}
