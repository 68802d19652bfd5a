package io.berth.kernel;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Identical memory of several processes kept once, by the kernel's samepage merging (KSM,
 * Documentation/admin-guide/mm/ksm.rst): a process marks regions MADV_MERGEABLE, the ksmd thread
 * scans them and maps pages with the same bytes to one read-only copy, copied again on a write.
 *
 * <p>What this is for: shim JVMs are alike. The classes they load, their metadata in the AOT
 * cache's read-write region, the interpreter and most of the JVM's own structures hold the same
 * bytes in every shim, but only if they sit at the same addresses in each: a pointer is part of a
 * page's bytes. So a shim runs without address-space randomisation (personality
 * ADDR_NO_RANDOMIZE, set by whoever launches it) and gives it back at once to what it starts:
 * the flag is inherited by exec, and a container's processes keep theirs
 * ({@link #restoreAddressRandomization}).
 *
 * <p>Marked regions are private mappings of this process only ({@link #markMergeable}),
 * never a whole process (prctl PR_SET_MEMORY_MERGE is inherited across fork and exec, which
 * would hand a container's memory to ksmd).
 */
public final class MemorySharing {
    /** Where the kernel exposes KSM; absent when it is built without CONFIG_KSM. */
    public static final Path KSM = Path.of("/sys/kernel/mm/ksm");
    private static final int ADDR_NO_RANDOMIZE = 0x0040000;
    private static final long PERSONALITY_QUERY = 0xffffffffL;
    private static final int MADV_MERGEABLE = 12;

    private MemorySharing() {
    }

    /**
     * Clears ADDR_NO_RANDOMIZE from this process's personality, so that what it execs from now
     * on is laid out at random again (this process's own layout was fixed at its exec and stays).
     * Returns whether it was set, i.e. whether this process was started to share its memory.
     */
    public static boolean restoreAddressRandomization() {
        try {
            int persona = Libc.personality(PERSONALITY_QUERY);
            if ((persona & ADDR_NO_RANDOMIZE) == 0) {
                return false;
            }
            Libc.personality(persona & ~ADDR_NO_RANDOMIZE);
            return true;
        } catch (LastErrorException e) {
            throw new SyscallException("personality", "clear ADDR_NO_RANDOMIZE", e.getErrorCode());
        }
    }

    /**
     * Marks the private mappings of this process that can hold pages of their own MADV_MERGEABLE
     * ({@link #mergeable}). Mappings made later are not marked. A mapping the kernel refuses
     * (EINVAL: one KSM cannot merge) is skipped. Returns the bytes marked.
     */
    public static long markMergeable() {
        List<String> maps;
        try {
            maps = Files.readAllLines(Path.of("/proc/self/maps"), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("read /proc/self/maps: " + e.getMessage(), e);
        }
        long marked = 0;
        for (String line : maps) {
            // "start-end perms offset dev inode [path]", perms as "rw-p": read, write, execute, private.
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash < 0 || space < dash || !mergeable(line.substring(space + 1, space + 5))) continue;
            long start = Long.parseUnsignedLong(line, 0, dash, 16);
            long end = Long.parseUnsignedLong(line, dash + 1, space, 16);
            try {
                Libc.madvise(start, end - start, MADV_MERGEABLE);
                marked += end - start;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EINVAL) {
                    throw new SyscallException("madvise", "MADV_MERGEABLE " + line, e.getErrorCode());
                }
            }
        }
        return marked;
    }

    /**
     * Private mappings that can hold pages of their own: readable, and writable or not executable.
     * That is anonymous memory (the Java heap, metaspace, the code cache, malloc's arenas, thread
     * stacks) and copied-on-write pages of files: an AOT cache's read-write region, and a shared
     * library's relocated pointers (its RELRO pages, read-only once relocated: libjvm.so has ~1 MB).
     * A file's executable text is shared through the page cache already; reserved, inaccessible
     * ranges hold nothing.
     */
    static boolean mergeable(String perms) {
        return perms.charAt(0) == 'r' && perms.charAt(3) == 'p' && (perms.charAt(1) == 'w' || perms.charAt(2) != 'x');
    }

    /** KSM's counters (ksm.rst): whether ksmd runs, pages it shares and full scans it has made. */
    public record KsmState(long run, long pagesShared, long pagesSharing, long fullScans) {
        public boolean running() {
            return run == 1;
        }
    }

    /** KSM's counters now; null when this kernel has no KSM. */
    public static KsmState ksm() {
        try {
            return new KsmState(counter("run"), counter("pages_shared"), counter("pages_sharing"), counter("full_scans"));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("read " + KSM + ": " + e.getMessage(), e);
        }
    }

    /**
     * Sets ksmd's run mode (0 stop, 1 run, 2 stop and unmerge everything). A node-wide setting:
     * it also starts merging for any other process that marked memory mergeable.
     */
    public static void setKsmRun(long run) throws IOException {
        Files.writeString(KSM.resolve("run"), Long.toString(run));
    }

    private static long counter(String name) throws IOException {
        return Long.parseLong(Files.readString(KSM.resolve(name), StandardCharsets.US_ASCII).trim());
    }
}
