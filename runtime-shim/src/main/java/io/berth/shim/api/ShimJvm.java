package io.berth.shim.api;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The one place that knows how a shim JVM is started. The flags are the spike's "tuned" set
 * (notes/jvm-kernel-spike.md §6): a shim is idle almost all of its life and a node runs 100+ of
 * them, so memory beats throughput: SerialGC, a small heap, C1 only, compact object headers, small
 * stacks and code cache, no perf-data file, no attach listener; the pre-extracted libjnidispatch
 * (JNA would otherwise unpack a private copy on every start, about 100 ms); the default CDS archive
 * mapped at a fixed address so its pages stay shared between shims (ArchiveRelocationMode=0); and
 * an AOT cache when the distribution has one (shim.aot next to the jars, trained with exactly
 * these flags: a mismatch makes the JVM ignore it).
 *
 * <p>Layout of {@code shimLibDir}: the jars of the shim's class path ({@code *.jar}),
 * {@code native/com/sun/jna/linux-x86-64/libjnidispatch.so}, optionally {@code shim.aot}.
 */
public final class ShimJvm {
    public static final String MAIN_CLASS = "io.berth.shim.ShimMain";
    /** Where the build unpacks libjnidispatch.so inside the shim lib dir. */
    public static final String JNA_NATIVE = "native/com/sun/jna/linux-x86-64";

    /** The tuned flags, without class path and main class. */
    public static final List<String> FLAGS = List.of(
            "-XX:+UseSerialGC", "-Xms4m", "-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
            "-XX:+UseCompactObjectHeaders", "-Xss512k", "-XX:ReservedCodeCacheSize=16m", "-XX:MaxMetaspaceSize=64m",
            "-XX:-UsePerfData", "-XX:+DisableAttachMechanism", "--enable-native-access=ALL-UNNAMED",
            "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0", "-Djna.nounpack=true");

    private ShimJvm() {
    }

    public static Path java() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    /** The full command line that runs a shim for {@code bundle}. */
    public static List<String> command(Path shimLibDir, Path bundle) {
        Path lib = shimLibDir.toAbsolutePath();
        var cmd = new ArrayList<String>();
        cmd.add(java().toString());
        cmd.addAll(FLAGS);
        cmd.add("-Djna.boot.library.path=" + lib.resolve(JNA_NATIVE));
        Path aot = lib.resolve("shim.aot");
        if (Files.isRegularFile(aot)) {
            cmd.add("-XX:AOTCache=" + aot);
        }
        cmd.add("-cp");
        cmd.add(lib + "/*");
        cmd.add(MAIN_CLASS);
        cmd.add(bundle.toAbsolutePath().toString());
        return cmd;
    }
}
