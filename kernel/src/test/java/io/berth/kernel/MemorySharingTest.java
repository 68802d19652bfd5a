package io.berth.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class MemorySharingTest {
    private static final int ADDR_NO_RANDOMIZE = 0x0040000;

    @Test
    void restoringRandomizationClearsTheFlagForWhatIsExecutedNext() throws Exception {
        int before = Libc.personality(0xffffffffL);
        Libc.personality(before | ADDR_NO_RANDOMIZE);
        try {
            assertEquals("00040000", childPersonality(), "a child inherits the flag while it is set");
            assertTrue(MemorySharing.restoreAddressRandomization(), "the flag was set");
            assertEquals(0, Libc.personality(0xffffffffL) & ADDR_NO_RANDOMIZE);
            assertEquals("00000000", childPersonality(), "what is executed afterwards is randomised");
            assertFalse(MemorySharing.restoreAddressRandomization(), "nothing left to clear");
        } finally {
            Libc.personality(before);
        }
    }

    @Test
    void aThreadWithoutRandomizationStartsChildrenWithoutItAndNoOtherThreadIsAffected() throws Exception {
        var fromThread = new AtomicReference<String>();
        var failure = new AtomicReference<Throwable>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                MemorySharing.setThreadAddressRandomization(false);
                MemorySharing.setThreadAddressRandomization(false); // already set: unchanged
                fromThread.set(childPersonality());
                MemorySharing.setThreadAddressRandomization(true);
                assertEquals("00000000", childPersonality(), "cleared again");
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join();
        if (failure.get() != null) throw new AssertionError(failure.get());
        assertEquals("00040000", fromThread.get(), "the setting thread's child runs without randomisation");
        assertEquals("00000000", childPersonality(), "this thread's children are randomised");
    }

    @Test
    void marksPrivateWritableMappingsMergeable() throws Exception {
        assumeTrue(Files.isDirectory(MemorySharing.KSM), "this kernel has no KSM (" + MemorySharing.KSM + ")");
        long marked = MemorySharing.markMergeable();
        assertTrue(marked > 0, "bytes marked: " + marked);
        // smaps: each mapping's "VmFlags:" line lists "mg" once it is mergeable.
        boolean privateWritable = false;
        int mergeable = 0;
        int unmarked = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                privateWritable = line.split(" ")[1].equals("rw-p");
            } else if (line.startsWith("VmFlags:") && privateWritable) {
                if (line.contains(" mg")) mergeable++;
                else unmarked++;
            }
        }
        assertTrue(mergeable > 10, "mergeable rw-p mappings: " + mergeable + ", unmarked: " + unmarked);
    }

    @Test
    void mergesPrivateMemoryButNotExecutableFileTextOrSharedOrInaccessibleMappings() {
        for (String yes : new String[] {"rw-p", "r--p", "rwxp"}) assertTrue(MemorySharing.mergeable(yes), yes);
        for (String no : new String[] {"r-xp", "---p", "rw-s", "r--s"}) assertFalse(MemorySharing.mergeable(no), no);
    }

    @Test
    void readsKsmCounters() {
        assumeTrue(Files.isDirectory(MemorySharing.KSM), "this kernel has no KSM (" + MemorySharing.KSM + ")");
        var ksm = MemorySharing.ksm();
        assertTrue(ksm.run() >= 0 && ksm.run() <= 2, "run mode " + ksm.run());
        assertTrue(ksm.fullScans() >= 0 && ksm.pagesSharing() >= 0, ksm.toString());
    }

    private static String childPersonality() throws Exception {
        Process p = new ProcessBuilder("cat", "/proc/self/personality").start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor());
        return out;
    }
}
