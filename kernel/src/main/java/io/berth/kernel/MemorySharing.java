package io.berth.kernel;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

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
     * Sets (false) or clears (true) ADDR_NO_RANDOMIZE in the calling thread's personality. The
     * personality is the thread's own: a child inherits it from the thread that spawns it and keeps
     * it across exec, so a thread set to false starts processes laid out as setarch(8) -R would
     * start them, and no other thread of this process is affected.
     */
    public static void setThreadAddressRandomization(boolean randomize) {
        try {
            int persona = Libc.personality(PERSONALITY_QUERY);
            int wanted = randomize ? persona & ~ADDR_NO_RANDOMIZE : persona | ADDR_NO_RANDOMIZE;
            if (wanted != persona) {
                Libc.personality(wanted);
            }
        } catch (LastErrorException e) {
            throw new SyscallException("personality", (randomize ? "clear" : "set") + " ADDR_NO_RANDOMIZE", e.getErrorCode());
        }
    }

    /**
     * Marks the private mappings of this process that can hold pages of their own MADV_MERGEABLE
     * ({@link #mergeable}). Mappings made later are not marked. A mapping the kernel refuses
     * (EINVAL: one KSM cannot merge) is skipped. Returns the bytes marked.
     */
    public static long markMergeable() {
        byte[] maps;
        try {
            maps = Files.readAllBytes(Path.of("/proc/self/maps"));
        } catch (IOException e) {
            throw new UncheckedIOException("read /proc/self/maps: " + e.getMessage(), e);
        }
        // Parsed as bytes, not as lines of text: a shim runs this once, interpreted, over a few
        // hundred mappings, and decoding and splitting them as strings cost it ~8 ms of CPU.
        long marked = 0;
        int at = 0;
        while (at < maps.length) {
            // "start-end perms offset dev inode [path]", perms as "rw-p": read, write, execute, private.
            int end = at;
            while (end < maps.length && maps[end] != '\n') end++;
            int dash = indexOf(maps, (byte) '-', at, end);
            int space = indexOf(maps, (byte) ' ', at, end);
            if (dash > at && space > dash && space + 4 < end
                    && mergeable((char) maps[space + 1], (char) maps[space + 2], (char) maps[space + 3], (char) maps[space + 4])) {
                long start = hex(maps, at, dash);
                long stop = hex(maps, dash + 1, space);
                try {
                    Libc.madvise(start, stop - start, MADV_MERGEABLE);
                    marked += stop - start;
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != Errno.EINVAL) {
                        throw new SyscallException("madvise", "MADV_MERGEABLE "
                                + new String(maps, at, end - at, StandardCharsets.US_ASCII), e.getErrorCode());
                    }
                }
            }
            at = end + 1;
        }
        return marked;
    }

    private static int indexOf(byte[] b, byte c, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) return i;
        }
        return -1;
    }

    private static long hex(byte[] b, int from, int to) {
        long v = 0;
        for (int i = from; i < to; i++) {
            int c = b[i];
            v = (v << 4) | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return v;
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
        return mergeable(perms.charAt(0), perms.charAt(1), perms.charAt(2), perms.charAt(3));
    }

    private static boolean mergeable(char read, char write, char execute, char shared) {
        return read == 'r' && shared == 'p' && (write == 'w' || execute != 'x');
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
