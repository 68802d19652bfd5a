package io.berth.shim;

import static io.berth.kernel.testing.ProcFs.mergeableMappings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.testing.RequiresRoot;
import io.berth.shim.api.ExecRequest;
import io.berth.shim.api.ShimClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Shims that share memory (ShimJvm's {@code shareMemory}, the agent's default): the shim JVMs are
 * laid out alike (no address randomisation), mark their memory mergeable for KSM once their
 * container runs, and hand neither to their containers, whose processes keep randomisation and
 * whose memory is never marked. Without sharing, a shim is randomised and marks nothing.
 */
@RequiresRoot
class MemorySharingIT extends ShimContainersTest {
    @Test
    void sharingShimsAreLaidOutAlikeAndMergeableButTheirContainersAreNot() throws Exception {
        ShimClient a = start("a", true);
        ShimClient b = start("b", true);
        long shimA = tc.shimPid("a");
        long shimB = tc.shimPid("b");
        assertEquals(mapping(shimA, "libjvm.so"), mapping(shimB, "libjvm.so"), "shims without randomisation");
        awaitLog(a, "memory marked mergeable");
        awaitLog(b, "memory marked mergeable");
        assertTrue(mergeableMappings(shimA) > 10, "mergeable mappings of the shim: " + mergeableMappings(shimA));

        for (ShimClient c : List.of(a, b)) {
            long pid = c.state().getPid();
            assertEquals("00000000", personality(pid), "the container's process is randomised");
            assertEquals(0, mergeableMappings(pid), "the container's memory is not handed to KSM");
            var exec = c.exec(ExecRequest.newBuilder().addArgs("cat").addArgs("/proc/self/personality").setTimeoutMs(10000).build());
            assertEquals("00000000", exec.getStdout().toStringUtf8().trim(), "an exec'd process is randomised");
        }
        assertNotEquals(mapping(a.state().getPid(), "[stack]"), mapping(b.state().getPid(), "[stack]"),
                "two containers' stacks at random addresses");
    }

    @Test
    void aShimThatDoesNotShareIsRandomisedAndMarksNothing() throws Exception {
        ShimClient a = start("a", false);
        ShimClient b = start("b", false);
        // An exec answered means the start's work is long done.
        a.exec(ExecRequest.newBuilder().addArgs("true").setTimeoutMs(10000).build());
        assertNotEquals(mapping(tc.shimPid("a"), "libjvm.so"), mapping(tc.shimPid("b"), "libjvm.so"));
        assertEquals(0, mergeableMappings(tc.shimPid("a")));
        assertTrue(!Files.readString(a.bundle().resolve(ShimClient.LOG)).contains("mergeable"));
    }

    private ShimClient start(String id, boolean share) throws Exception {
        ShimClient c = tc.launch(tc.spec(id, "exec sleep 1000").build(), share);
        c.start();
        return c;
    }

    /** The start address of the first mapping of {@code pid} whose name ends with {@code name}. */
    private static String mapping(long pid, String name) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
            if (line.endsWith(name)) return line.substring(0, line.indexOf('-'));
        }
        throw new AssertionError("no mapping " + name + " in process " + pid);
    }

    private static String personality(long pid) throws Exception {
        return Files.readString(Path.of("/proc/" + pid + "/personality")).trim();
    }

    private static void awaitLog(ShimClient c, String text) throws Exception {
        Path log = c.bundle().resolve(ShimClient.LOG);
        // the shim marks its memory ShimMain.CHORES_DELAY_MS after its container starts
        for (int i = 0; i < 1500 && !Files.readString(log).contains(text); i++) {
            Thread.sleep(10);
        }
        assertTrue(Files.readString(log).contains(text), "shim.log never said '" + text + "':\n" + Files.readString(log));
    }
}
