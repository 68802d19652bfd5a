package io.berth.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes kernel parameters under a /proc/sys root (a parameter so tests can point it elsewhere; STYLE.md 11). */
final class Sysctl {
    private final Path root;

    Sysctl(Path root) {
        this.root = root;
    }

    /** Sets {@code key} (slash-separated, e.g. net/ipv4/ip_forward) unless it already has {@code value}. */
    void ensure(String key, String value) {
        Path p = root.resolve(key);
        try {
            if (Files.readString(p, StandardCharsets.US_ASCII).strip().equals(value)) {
                return;
            }
            Files.writeString(p, value + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new NetworkException("sysctl " + p + " = " + value + ": " + e, e);
        }
    }
}
