package io.berth.kernel;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The one way berth binds native code through JNA: {@link #library} (functions looked up and
 * called through {@code com.sun.jna.Function}, as {@code Libc} does for everything a shim calls)
 * and {@link #registerLibc} (direct mapping, for the agent's hot per-file and netlink calls; its
 * first use costs a JVM tens of milliseconds, see {@code Libc}).
 *
 * <p>On Linux, JNA's {@code NativeLibrary} runs {@code /sbin/ldconfig -p} in its static
 * initialiser to learn the library directories, unless the system property
 * {@code jna.platform.library.path} is set. That is a fork and two execs (jspawnhelper, ldconfig)
 * plus parsing the whole linker cache at every start of every JVM, shims included, for a search
 * path berth never needs: libc is the process's own (JNA binds "c" to it without searching) and
 * other libraries are named by soname, which dlopen(3) finds itself. So the property is set,
 * before JNA first loads a library, to the directories JNA would have listed first anyway.
 */
public final class Jna {
    static final String PLATFORM_PATH = "jna.platform.library.path";

    private Jna() {
    }

    /** Binds the static native methods of {@code cls} to the process's libc (JNA direct mapping). */
    public static void registerLibc(Class<?> cls) {
        prepare();
        Native.register(cls, "c");
    }

    /**
     * Opens {@code name} (an soname dlopen(3) finds, or a path).
     *
     * @throws UnsatisfiedLinkError when it cannot be loaded
     */
    public static NativeLibrary library(String name) {
        prepare();
        return NativeLibrary.getInstance(name);
    }

    /** Sets {@code jna.platform.library.path} unless the JVM was given one. Idempotent. */
    static synchronized void prepare() {
        if (System.getProperty(PLATFORM_PATH) == null) {
            System.setProperty(PLATFORM_PATH, String.join(java.io.File.pathSeparator, platformDirs()));
        }
    }

    /** The multiarch and plain library directories that exist, as JNA lists them ahead of ldconfig's. */
    static List<String> platformDirs() {
        String tuple = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64" -> "aarch64-linux-gnu";
            default -> null;
        };
        var candidates = new ArrayList<String>();
        if (tuple != null) {
            candidates.add("/usr/lib/" + tuple);
            candidates.add("/lib/" + tuple);
        }
        candidates.addAll(List.of("/usr/lib64", "/lib64", "/usr/lib", "/lib"));
        // A loop, not a stream: every shim runs this once, interpreted, and a stream's lambda and
        // pipeline cost ~2 ms there.
        var dirs = new ArrayList<String>();
        for (String d : candidates) {
            if (Files.isDirectory(Path.of(d))) dirs.add(d);
        }
        return dirs;
    }
}
