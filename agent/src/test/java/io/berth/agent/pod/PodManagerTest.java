package io.berth.agent.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.domain.BerthException;
import io.berth.agent.pod.Sandbox.NamespaceModes;
import io.berth.agent.pod.Sandbox.NamespaceModes.Mode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sandbox orchestration against recording fakes of the kernel and network. */
class PodManagerTest {
    @TempDir
    Path dir;

    final List<String> calls = new ArrayList<>();
    final Set<Path> pinned = new HashSet<>();
    String failOn = "";

    final PodNamespaces namespaces = new PodNamespaces() {
        @Override
        public void create(Path pins, Set<Kind> kinds, String hostname) {
            calls.add("pin " + kinds + " " + hostname);
            if (failOn.equals("pin")) throw new IllegalStateException("unshare: EPERM");
            pinned.add(pins);
        }

        @Override
        public void remove(Path pins) {
            calls.add("unpin");
            pinned.remove(pins);
        }

        @Override
        public Set<Kind> lost(Path pins, Set<Kind> kinds) {
            return pinned.contains(pins) ? Set.of() : kinds;
        }
    };

    final PodCgroups cgroups = new PodCgroups() {
        @Override
        public boolean ensure(String parent) {
            calls.add("cgroup " + parent);
            return true;
        }

        @Override
        public void remove(String parent) {
            calls.add("rmcgroup " + parent);
        }

        @Override
        public void update(String parent, PodLimits limits) {
            calls.add("update " + parent + " shares=" + limits.cpuShares() + " quota=" + limits.cpuQuota() + "/"
                    + limits.cpuPeriod() + " memory=" + limits.memoryLimitBytes());
        }
    };

    final PodNetwork network = new PodNetwork() {
        final Set<String> attached = new HashSet<>();

        @Override
        public List<String> setUp(Sandbox s, Path netns) {
            calls.add("net up");
            if (failOn.equals("net")) throw new IllegalStateException("no address left in 10.0.0.0/30");
            attached.add(s.id());
            return List.of("10.0.0.2");
        }

        @Override
        public void tearDown(Sandbox s, Path netns) {
            calls.add("net down");
            attached.remove(s.id());
        }

        @Override
        public void reconcile(Set<String> live) {
            calls.add("reconcile " + live.size());
        }

        @Override
        public Readiness readiness() {
            return new Readiness(true, "", "");
        }

        @Override
        public void updatePodCidr(String cidr) {
        }
    };

    final PodInit init = new PodInit() {
        @Override
        public void start(Sandbox s, Path pin) {
            calls.add("init start " + pin.getFileName());
        }

        @Override
        public void stop(Sandbox s, Path pin) {
            calls.add("init stop");
        }

        @Override
        public void remove(Sandbox s) {
            calls.add("init remove");
        }
    };

    final List<String> containerCalls = new ArrayList<>();
    PodManager pods;

    @BeforeEach
    void setUp() {
        pods = newManager();
    }

    PodManager newManager() {
        return newManager("boot-1");
    }

    /** A manager as the agent makes one in the boot {@code bootId}. */
    PodManager newManager(String bootId) {
        var m = new PodManager(dir.resolve("state"), dir.resolve("run"), namespaces, cgroups, network, init, bootId);
        m.attach(new PodContainers() {
            @Override
            public void stopAll(String id, long timeout) {
                containerCalls.add("stop " + id);
            }

            @Override
            public void removeAll(String id) {
                containerCalls.add("remove " + id);
            }
        });
        return m;
    }

    static SandboxRequest request(String name, int attempt) {
        return new SandboxRequest(new Sandbox.PodMeta(name, "uid-" + name, "default", attempt), "", "/var/log/pods/x",
                new Sandbox.Dns(List.of("10.96.0.10"), List.of("svc.cluster.local"), List.of("ndots:5")), List.of(),
                Map.of("app", name), Map.of(), "/kubepods/pod-" + name,
                new NamespaceModes(Mode.POD, Mode.CONTAINER, Mode.POD), false, "");
    }

    @Test
    void runSetsUpInOrderAndPersistsReady() throws Exception {
        Sandbox s = pods.run(request("web", 0));
        assertEquals(Sandbox.State.READY, s.state());
        assertEquals(List.of("10.0.0.2"), s.ips());
        assertEquals(List.of("pin [NET, IPC, UTS] web", "cgroup /kubepods/pod-web", "net up"), calls);
        Path podDir = Path.of(s.podDir());
        assertEquals("nameserver 10.96.0.10\nsearch svc.cluster.local\noptions ndots:5\n",
                Files.readString(podDir.resolve("resolv.conf")));
        assertTrue(Files.readString(podDir.resolve("hosts")).contains("10.0.0.2\tweb\n"));
        assertEquals("web\n", Files.readString(podDir.resolve("hostname")));
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(podDir.resolve("resolv.conf"))), "containers read it as any user");

        var reloaded = newManager();
        reloaded.recover();
        assertEquals(s, reloaded.get(s.id()));
    }

    @Test
    void aRetriedRunReturnsTheSameSandboxAndANewAttemptGetsANewOne() {
        Sandbox first = pods.run(request("web", 0));
        assertEquals(first.id(), pods.run(request("web", 0)).id());
        assertFalse(first.id().equals(pods.run(request("web", 1)).id()));
    }

    @Test
    void aNameHeldByAStoppedSandboxIsRefusedNamingTheHolder() {
        Sandbox first = pods.run(request("web", 0));
        pods.stop(first.id());
        var e = assertThrows(BerthException.class, () -> pods.run(request("web", 0)));
        assertEquals(BerthException.Kind.ALREADY_EXISTS, e.kind());
        assertTrue(e.getMessage().contains(first.id()), e.getMessage());
    }

    @Test
    void aFailedStepUndoesEverythingAndReleasesTheName() throws Exception {
        failOn = "net";
        var e = assertThrows(BerthException.class, () -> pods.run(request("web", 0)));
        assertTrue(e.getMessage().contains("set up pod network: no address left"), e.getMessage());
        assertTrue(calls.containsAll(List.of("unpin", "rmcgroup /kubepods/pod-web")), calls.toString());
        assertTrue(pinned.isEmpty());
        assertTrue(pods.list().isEmpty());
        try (var files = Files.list(dir.resolve("state/sandboxes"))) {
            assertEquals(0, files.count(), "no record left behind");
        }
        failOn = "";
        assertEquals(Sandbox.State.READY, pods.run(request("web", 0)).state(), "the name was released");
    }

    @Test
    void stopAndRemoveAreIdempotentAndTearDownInOrder() {
        Sandbox s = pods.run(request("web", 0));
        calls.clear();
        pods.stop(s.id());
        pods.stop(s.id());
        assertEquals(List.of("net down", "unpin"), calls);
        assertEquals(Sandbox.State.NOTREADY, pods.get(s.id()).state());
        pods.remove(s.id());
        pods.remove(s.id());
        pods.remove("no-such-id");
        assertTrue(pods.find(s.id()).isEmpty());
        assertTrue(calls.contains("rmcgroup /kubepods/pod-web"));
        assertEquals(List.of("stop " + s.id(), "stop " + s.id(), "stop " + s.id(), "remove " + s.id()), containerCalls);
        assertFalse(Files.exists(Path.of(s.podDir())));
    }

    @Test
    void aSandboxCaughtCreatingByACrashIsUndoneOnRecovery() throws Exception {
        // The record of a sandbox whose RunPodSandbox was killed mid-way, as the store left it.
        Sandbox s = pods.run(request("web", 0));
        var store = new io.berth.agent.store.RecordStore<>(dir.resolve("state/sandboxes"), Sandbox.class);
        var creating = new Sandbox(s.id(), s.meta(), s.labels(), s.annotations(), Sandbox.State.CREATING, s.createdAt(),
                s.hostname(), s.logDirectory(), s.runtimeHandler(), s.namespaces(), s.cgroupParent(), false, s.dns(),
                s.ports(), List.of(), false, s.pinsDir(), s.podDir(), s.bootId());
        store.put(s.id(), creating);
        calls.clear();
        var reloaded = newManager();
        reloaded.recover();
        assertTrue(reloaded.find(s.id()).isEmpty());
        assertEquals(List.of("net down", "unpin", "reconcile 0"), calls);
        assertEquals(Sandbox.State.READY, reloaded.run(request("web", 0)).state());
    }

    @Test
    void aSandboxOfAnEarlierBootIsNotReadyAfterRecovery() {
        Sandbox s = pods.run(request("web", 0));
        assertEquals("boot-1", s.bootId());
        calls.clear();
        var rebooted = newManager("boot-2");
        rebooted.recover();
        assertEquals(Sandbox.State.NOTREADY, rebooted.get(s.id()).state());
        assertEquals(List.of("net down", "unpin", "reconcile 1"), calls);
        // Written: the agent after this one finds it NOTREADY too, and kubelet can remove it.
        var next = newManager("boot-2");
        next.recover();
        assertEquals(Sandbox.State.NOTREADY, next.get(s.id()).state());
        next.remove(s.id());
        assertTrue(next.find(s.id()).isEmpty());
        assertEquals(Sandbox.State.READY, next.run(request("web", 1)).state());
    }

    @Test
    void aSandboxWhosePinsAreGoneIsNotReadyAfterRecoveryAndOneThatHoldsThemStaysReady() {
        Sandbox kept = pods.run(request("kept", 0));
        Sandbox lost = pods.run(request("lost", 0));
        pinned.remove(Path.of(lost.pinsDir())); // unmounted behind the agent's back
        calls.clear();
        var reloaded = newManager();
        reloaded.recover();
        assertEquals(Sandbox.State.READY, reloaded.get(kept.id()).state());
        assertEquals(Sandbox.State.NOTREADY, reloaded.get(lost.id()).state());
        assertEquals(List.of("net down", "unpin", "reconcile 2"), calls);
    }

    @Test
    void aSandboxRecordWithoutABootIdIsJudgedByItsPins() {
        Sandbox s = pods.run(request("web", 0));
        var store = new io.berth.agent.store.RecordStore<>(dir.resolve("state/sandboxes"), Sandbox.class);
        store.put(s.id(), new Sandbox(s.id(), s.meta(), s.labels(), s.annotations(), s.state(), s.createdAt(),
                s.hostname(), s.logDirectory(), s.runtimeHandler(), s.namespaces(), s.cgroupParent(), s.ownsCgroup(),
                s.dns(), s.ports(), s.ips(), false, s.pinsDir(), s.podDir(), null));
        var reloaded = newManager("boot-2");
        reloaded.recover();
        assertEquals(Sandbox.State.READY, reloaded.get(s.id()).state(), "its pins still hold namespaces");
    }

    @Test
    void idsResolveByUniquePrefix() {
        Sandbox s = pods.run(request("web", 0));
        assertEquals(s.id(), pods.get(s.id().substring(0, 8)).id());
        var e = assertThrows(BerthException.class, () -> pods.get("zz"));
        assertEquals(BerthException.Kind.NOT_FOUND, e.kind());
    }

    @Test
    void hostNetworkPodsShareTheHostsUtsAndGetNoNetworkSetUp() {
        var r = request("host", 0);
        var hostNet = new SandboxRequest(r.meta(), "", r.logDirectory(), r.dns(), r.ports(), r.labels(), r.annotations(),
                "", new NamespaceModes(Mode.NODE, Mode.CONTAINER, Mode.NODE), false, "");
        Sandbox s = pods.run(hostNet);
        assertTrue(calls.isEmpty(), "nothing to pin, no network to set up: " + calls);
        assertTrue(s.ips().isEmpty());
    }

    @Test
    void aPodSharingItsPidNamespaceGetsAnInitThatStopsAndGoesWithIt() {
        var r = request("shared", 0);
        var shared = new SandboxRequest(r.meta(), "", r.logDirectory(), r.dns(), r.ports(), r.labels(), r.annotations(),
                r.cgroupParent(), new NamespaceModes(Mode.POD, Mode.POD, Mode.POD), false, "");
        Sandbox s = pods.run(shared);
        assertEquals("init start pid", calls.getLast());
        calls.clear();
        pods.stop(s.id());
        assertEquals(List.of("init stop", "net down", "unpin"), calls);
        pods.remove(s.id());
        assertTrue(calls.contains("init remove"));
    }

    @Test
    void badRequestsAreRefusedBeforeAnythingIsMade() {
        var r = request("", 0);
        var e = assertThrows(BerthException.class, () -> pods.run(r));
        assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(calls.isEmpty());
    }

    @Test
    void updateResourcesWritesTheSumPlusOverheadToThePodCgroup() {
        Sandbox s = pods.run(request("web", 0));
        calls.clear();
        var sum = new PodLimits(512, 50_000, 100_000, "", "", 256L << 20, Map.of(), Map.of());
        var overhead = new PodLimits(102, 10_000, 100_000, "", "", 64L << 20, Map.of(), Map.of());
        pods.updateResources(s.id().substring(0, 8), sum, overhead);
        assertEquals(List.of("update /kubepods/pod-web shares=614 quota=60000/100000 memory=" + (320L << 20)), calls);
    }

    @Test
    void updateResourcesOfAnUnknownPodIsNotFoundAndBadValuesAreInvalid() {
        var none = assertThrows(BerthException.class, () -> pods.updateResources("nope", PodLimits.NONE, PodLimits.NONE));
        assertEquals(BerthException.Kind.NOT_FOUND, none.kind());
        Sandbox s = pods.run(request("web", 0));
        calls.clear();
        var bad = new PodLimits(0, 0, 10, "", "", 0, Map.of(), Map.of());
        var e = assertThrows(BerthException.class, () -> pods.updateResources(s.id(), PodLimits.NONE, bad));
        assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains(s.id()) && e.getMessage().contains("overhead: cpu_period 10"), e.getMessage());
        assertTrue(calls.isEmpty(), "nothing written: " + calls);
    }

    @Test
    void updateResourcesOfAPodWithoutCgroupParentIsAFailedPrecondition() {
        var r = request("bare", 0);
        Sandbox s = pods.run(new SandboxRequest(r.meta(), "", r.logDirectory(), r.dns(), r.ports(), r.labels(),
                r.annotations(), "", r.namespaces(), false, ""));
        var e = assertThrows(BerthException.class, () -> pods.updateResources(s.id(), PodLimits.NONE, PodLimits.NONE));
        assertEquals(BerthException.Kind.FAILED_PRECONDITION, e.kind());
    }
}
