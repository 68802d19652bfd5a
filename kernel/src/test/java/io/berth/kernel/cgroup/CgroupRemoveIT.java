package io.berth.kernel.cgroup;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.testing.RequiresRoot;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Removing a cgroup on the host's hierarchies (every v1 hierarchy here): the quick way, when no
 * sub-cgroup and no process is left (one rmdir each), and the walk, when a sub-cgroup and a
 * process are: the process is killed and every directory goes.
 */
@RequiresRoot
class CgroupRemoveIT {
    final String parent = "/berth-it-remove-" + UUID.randomUUID().toString().substring(0, 8);
    Process sleeper;

    @AfterEach
    void cleanUp() throws Exception {
        if (sleeper != null) sleeper.destroyForcibly().waitFor();
        Cgroups.host().open(parent).remove(Duration.ofSeconds(10));
    }

    @Test
    void anEmptyCgroupGoesAtOnce() throws Exception {
        Cgroup c = Cgroups.host().create(parent + "/empty", Resources.NONE);
        assertTrue(c.exists(), c + " was made");
        c.remove(Duration.ofSeconds(10));
        assertFalse(c.exists(), c + " is gone");
    }

    @Test
    void aCgroupWithASubCgroupAndAProcessIsEmptiedAndGoes() throws Exception {
        Cgroups host = Cgroups.host();
        Cgroup c = host.create(parent + "/busy", Resources.NONE);
        Cgroup sub = host.create(parent + "/busy/sub", Resources.NONE);
        sleeper = new ProcessBuilder("sleep", "60").start();
        sub.addProcess((int) sleeper.pid());
        assertTrue(sub.pids().contains((int) sleeper.pid()), "the process is in " + sub);

        c.remove(Duration.ofSeconds(10));

        assertTrue(sleeper.waitFor(10, TimeUnit.SECONDS), "the process in the sub-cgroup was killed");
        assertFalse(sub.exists(), sub + " is gone");
        assertFalse(c.exists(), c + " is gone");
    }

    /**
     * A container that exits while it is being signalled: its shim removes the cgroup as the
     * signal lists its processes. Reading cgroup.procs of a cgroup being removed fails with ENODEV
     * (in ~1 of 4 tries here); that is a cgroup with no process, not an error.
     */
    @Test
    void signallingACgroupBeingRemovedFindsNoProcessAndNoError() throws Exception {
        Cgroups host = Cgroups.host();
        for (int i = 0; i < 300; i++) {
            Cgroup c = host.create(parent + "/racing", Resources.NONE);
            Thread remover = Thread.ofPlatform().start(() -> {
                try {
                    c.remove(Duration.ofSeconds(10));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try {
                c.signalAll(9);
            } finally {
                remover.join();
            }
            assertFalse(c.exists(), c + " is gone");
        }
    }
}
