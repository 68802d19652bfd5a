package io.berth.shim.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The one place that knows how a shim JVM is started. The flags are the spike's "tuned" set
 * (notes/jvm-kernel-spike.md §6): a shim is idle almost all of its life and a node runs 100+ of
 * them, so memory beats throughput: SerialGC, a small heap, C1 only, compact object headers, small
 * stacks and code cache, no perf-data file, no attach listener; C1 compiling only methods far
 * hotter than by default (below); free malloc memory handed back every 2 s
 * (TrimNativeHeapInterval: the start-up's compiler arenas otherwise stay, ~5 MB here); JDK
 * warnings about libraries' sun.misc.Unsafe use silenced; the pre-extracted libjnidispatch (JNA
 * would otherwise unpack a private copy on every start, about 100 ms); the default CDS archive
 * mapped at a fixed address so its pages stay shared between shims (ArchiveRelocationMode=0); and
 * an AOT cache when the distribution has a fresh one (shim.aot next to the jars, made by
 * {@code io.berth.shim.AotTraining} with exactly these flags and class path: the JVM ignores a
 * cache whose flags or class path differ), holding the classes loaded and linked but no method
 * profiles (AOTRecordTraining, AOTReplayTraining off: with profiles in the cache a JVM runs a
 * "training replay" thread that looks up each class's profile as it is initialised, ~10 ms of
 * CPU per shim start, to speed up compilations that a shim hardly makes; below); and idle
 * monitors deflated only by the JVM's once-a-minute check (AsyncDeflationInterval=0: its
 * deflation thread otherwise wakes four times a second, 10-20 ms of CPU every 30 s of an idle
 * shim, 0 with it).
 *
 * <p>Compilation waits for methods 500 times hotter than the JVM's default (C1's thresholds
 * scaled), so a shim compiles next to nothing while it creates and runs a quiet container: its
 * code, and the pointers to it in every method's metadata, then look the same in every shim,
 * which is what lets shims share those pages (below). A busy log pump still gets compiled.
 *
 * <p>With {@code shareMemory} (the agent's {@code shim_memory_sharing}, on by default) the JVM is
 * started through {@code setarch -R} (an idle pool shim from a thread with that personality,
 * {@link ShimLauncher#startIdle}): without address-space randomisation, so that the pages
 * shims have alike are alike byte for byte and KSM can keep one copy of each
 * ({@code io.berth.kernel.MemorySharing}). The shim gives randomisation back to everything it
 * starts, containers first, and marks its memory mergeable five seconds after its container starts
 * ({@code ShimMain.CHORES_DELAY_MS}).
 *
 * <p>The shim's jars are appended to the boot class path rather than put on the class path. A
 * class the AOT cache does not hold is then looked up by the JVM's own loader, in native code,
 * instead of by the application class loader's Java code, which on its first miss opens and
 * indexes the jar in interpreted code: protobuf's start-up probes for Android and for its full
 * runtime (Class.forName of classes the shim does not have) cost ~7-9 ms of every shim start
 * that way. Idle shim start to ready, CPU: 52 against 61 ms (medians of 11, interleaved). Classes on
 * the boot class path are not verified, as the JDK's own are not: the jar is berth's, as
 * trusted as the JVM that runs it. The class path is the lib directory, which holds jars but no
 * classes: the application loader, asked only for the main class, finds it through the boot
 * loader (without -cp the class path would be the working directory the shim inherits).
 *
 * <p>Layout of {@code shimLibDir}: the jars of the shim's boot class path ({@code *.jar}; the build
 * makes one, {@code berth-shim.jar}, with only the protobuf classes the shim reaches, see
 * runtime-shim/pom.xml),
 * {@code native/com/sun/jna/linux-x86-64/libjnidispatch.so}, optionally {@code shim.aot}.
 */
public final class ShimJvm {
    public static final String MAIN_CLASS = "io.berth.shim.ShimMain";
    /** Where the build unpacks libjnidispatch.so inside the shim lib dir. */
    public static final String JNA_NATIVE = "native/com/sun/jna/linux-x86-64";
    /** The AOT cache inside the shim lib dir. */
    public static final String AOT_CACHE = "shim.aot";

    /**
     * The tuned flags, without class path and main class. A 3 MiB young generation in a 5 MiB
     * heap: creating a container allocates more than the 1.3 MiB one of a 4 MiB heap's default
     * third holds, even an empty one, and the young GC that then stopped every thread for 2-4 ms
     * fell in the middle of CreateContainer; with this eden it needs none (GC log of pooled
     * shims: no GC from adoption to running). NewSize rather than a ratio: the old generation
     * keeps its default share of -Xmx, which an exec's 16 MiB of captured output needs. Not
     * more young than that: with 1 MiB of old generation at start the JVM refused the AOT cache
     * (the build's check that a shim starts with -XX:AOTMode=on failed). PSS per shim with KSM:
     * 6.0-6.4 MiB (6.8-7.0 with the 4 MiB heap; bin/bench pods).
     */
    public static final List<String> FLAGS = List.of(
            "-XX:+UseSerialGC", "-Xms5m", "-Xmx64m", "-XX:NewSize=3m", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
            "-XX:+UseCompactObjectHeaders", "-Xss512k", "-XX:ReservedCodeCacheSize=16m", "-XX:MaxMetaspaceSize=64m",
            "-XX:-UsePerfData", "-XX:+DisableAttachMechanism", "--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow",
            "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0", "-XX:AsyncDeflationInterval=0", "-Djna.nounpack=true",
            "-XX:TrimNativeHeapInterval=2000", "-XX:CompileThresholdScaling=500",
            "-XX:-AOTRecordTraining", "-XX:-AOTReplayTraining");

    /**
     * Set in the shim JVM's environment (never the container's: its process gets the spec's env).
     * glibc gives each thread that mallocs an arena of its own, up to 8 per core, each with pages
     * touched for good; the shim's few threads need no more than two.
     */
    public static final java.util.Map<String, String> ENVIRONMENT = java.util.Map.of("MALLOC_ARENA_MAX", "2");

    private ShimJvm() {
    }

    public static Path java() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    /** The full command line that runs a shim for {@code bundle}, with the AOT cache when it is fresh. */
    public static List<String> command(Path shimLibDir, Path bundle, boolean shareMemory) {
        return command(shimLibDir, List.of(bundle.toAbsolutePath().toString()), shareMemory);
    }

    /**
     * The JVM command line of an idle shim for the warm pool ({@link ShimPool}), waiting in
     * {@code slot}: without setarch, as {@link ShimLauncher#startIdle} starts it from a thread
     * without address randomisation when it is to share memory.
     */
    public static List<String> idleCommand(Path shimLibDir, Path slot) {
        return jvmCommand(shimLibDir, List.of(ShimPool.IDLE_FLAG, slot.toAbsolutePath().toString()));
    }

    /**
     * {@code command} as the AOT training run: the same flags and class path, with no cache to read
     * and the cache written to {@code output} when the JVM exits (JEP 514's one-step training).
     */
    public static List<String> trainingCommand(List<String> command, Path output) {
        var cmd = new ArrayList<String>();
        for (String arg : command) {
            if (!arg.startsWith("-XX:AOTCache=")) cmd.add(arg);
        }
        return withJvmOption(cmd, "-XX:AOTCacheOutput=" + output.toAbsolutePath());
    }

    /** {@code command} (one of this class's) with {@code option} first among the JVM's options. */
    public static List<String> withJvmOption(List<String> command, String option) {
        var cmd = new ArrayList<>(command);
        int java = cmd.indexOf(java().toString());
        if (java < 0) throw new IllegalArgumentException("not a shim JVM command: " + command);
        cmd.add(java + 1, option);
        return cmd;
    }

    private static List<String> command(Path shimLibDir, List<String> args, boolean shareMemory) {
        var cmd = new ArrayList<String>();
        if (shareMemory) {
            // util-linux; -R: personality ADDR_NO_RANDOMIZE for the JVM it execs.
            cmd.addAll(List.of("setarch", "-R"));
        }
        cmd.addAll(jvmCommand(shimLibDir, args));
        return cmd;
    }

    private static List<String> jvmCommand(Path shimLibDir, List<String> args) {
        Path lib = shimLibDir.toAbsolutePath();
        var cmd = new ArrayList<String>();
        cmd.add(java().toString());
        cmd.addAll(FLAGS);
        cmd.add("-Djna.boot.library.path=" + lib.resolve(JNA_NATIVE));
        if (aotCacheIsFresh(lib)) {
            cmd.add("-XX:AOTCache=" + lib.resolve(AOT_CACHE));
        }
        // The jars on the boot class path, see the class comment; the class path a directory
        // with no classes in it, so that the application loader finds nothing of its own.
        cmd.add("-Xbootclasspath/a:" + bootClassPath(lib));
        cmd.add("-cp");
        cmd.add(lib.toString());
        cmd.add(MAIN_CLASS);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * The shim's boot class path: the jars of {@code lib}, sorted by name. Spelled out: a copy of
     * the directory need not keep its listing order, and an AOT cache is only used with the class
     * paths it was trained with, in the same order.
     */
    static String bootClassPath(Path lib) {
        return jars(lib).stream().map(Path::toString).collect(Collectors.joining(":"));
    }

    private static List<Path> jars(Path lib) {
        try (var s = Files.list(lib)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("list the shim's jars in " + lib + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether {@code lib/shim.aot} exists and no jar beside it is newer. A cache older than a jar
     * was trained on other classes; the JVM's own check (jar size and mtime) is not one to lean
     * on, so a rebuilt jar without a new training run means no cache rather than stale classes.
     */
    public static boolean aotCacheIsFresh(Path lib) {
        Path aot = lib.resolve(AOT_CACHE);
        try {
            if (!Files.isRegularFile(aot)) {
                return false;
            }
            FileTime made = Files.getLastModifiedTime(aot);
            for (Path jar : jars(lib)) {
                if (Files.getLastModifiedTime(jar).compareTo(made) > 0) {
                    return false;
                }
            }
            return true;
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }
}
