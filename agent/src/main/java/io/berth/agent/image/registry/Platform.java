package io.berth.agent.image.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * An OS/architecture/variant triple (OCI image-spec image-index.md, "platform"). For amd64 the
 * variants are the x86-64 micro-architecture levels v1..v4; for arm, v5..v8.
 */
public record Platform(String os, String architecture, String variant) {

    /** This machine: linux/amd64 at the x86-64 level its CPU supports. */
    public static Platform host() {
        return new Platform("linux", "amd64", amd64Level(Path.of("/proc/cpuinfo")));
    }

    /** Whether an image built for {@code p} runs here. */
    public boolean accepts(Platform p) {
        return os.equals(p.os()) && normaliseArch(architecture).equals(normaliseArch(p.architecture()))
                && variantRank(p.variant()) <= variantRank(variant);
    }

    /** Rank of a variant, "" and v1 being the baseline. */
    public int variantRank(String v) {
        if (v == null || v.isEmpty()) {
            return 1;
        }
        if (v.matches("v[0-9]+")) {
            return Integer.parseInt(v.substring(1));
        }
        return Integer.MAX_VALUE; // unknown variants never match
    }

    private static String normaliseArch(String a) {
        return switch (a) {
            case "x86_64", "x86-64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> a;
        };
    }

    /** The x86-64 psABI micro-architecture level from the CPU flags (x86-64-psABI, section 3.1.1). */
    static String amd64Level(Path cpuinfo) {
        Set<String> flags;
        try {
            flags = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags"))
                    .findFirst().map(l -> Set.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+")))
                    .orElse(Set.of());
        } catch (IOException e) {
            return "v1";
        }
        boolean v2 = flags.containsAll(Set.of("cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"));
        boolean v3 = v2 && flags.containsAll(Set.of("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe"));
        boolean v4 = v3 && flags.containsAll(Set.of("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"));
        return v4 ? "v4" : v3 ? "v3" : v2 ? "v2" : "v1";
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }
}
