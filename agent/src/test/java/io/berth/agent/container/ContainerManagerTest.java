package io.berth.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.container.ContainerRuntime.Observed;
import io.berth.agent.container.ContainerRuntime.Observed.Phase;
import io.berth.agent.domain.BerthException;
import io.berth.agent.image.Image;
import io.berth.agent.image.ImageConfig;
import io.berth.agent.pod.PodCgroups;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.PodNamespaces;
import io.berth.agent.pod.PodNetwork;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.pod.SandboxRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Container orchestration against a recording fake of the shims and an in-memory image. */
class ContainerManagerTest {
    @TempDir
    Path dir;

    /** A fake shim world: each bundle has a phase; kill with a signal the process honours ends it. */
    final class FakeRuntime implements ContainerRuntime {
        final Map<String, Observed> state = new HashMap<>();
        final List<String> calls = new ArrayList<>();
        final Map<String, ContainerPlan> plans = new HashMap<>();
        Set<Integer> honoured = Set.of(15, 9);
        boolean failCreate;

        @Override
        public void create(ContainerPlan plan) {
            calls.add("create");
            if (failCreate) throw new IllegalStateException("mount overlay on /x: EINVAL");
            plans.put(plan.bundleDir(), plan);
            state.put(plan.bundleDir(), new Observed(Phase.CREATED, 42, 0, 0, 0, "", ""));
        }

        @Override
        public Observed start(String bundle) {
            calls.add("start");
            state.put(bundle, new Observed(Phase.RUNNING, 42, 1000, 0, 0, "", ""));
            return state.get(bundle);
        }

        @Override
        public void kill(String bundle, int signal, boolean all) {
            calls.add("kill " + signal + (all ? " all" : ""));
            if (honoured.contains(signal)) {
                state.put(bundle, new Observed(Phase.EXITED, 42, 1000, 2000, 128 + signal, "Error", ""));
            }
        }

        @Override
        public Observed observe(String bundle) {
            return state.getOrDefault(bundle, new Observed(Phase.LOST, 0, 0, 0, 0, "", ""));
        }

        @Override
        public Optional<ContainerPlan.NamespaceJoin> pidNamespace(String bundle) {
            Observed o = observe(bundle);
            return o.phase() != Phase.RUNNING ? Optional.empty()
                    : Optional.of(new ContainerPlan.NamespaceJoin("PID", "/proc/" + o.pid() + "/ns/pid", o.pid(), 777));
        }

        @Override
        public ExecResult exec(String bundle, List<String> args, Duration timeout) {
            calls.add("exec " + args);
            return new ExecResult(0, "hi\n".getBytes(), new byte[0], false);
        }

        @Override
        public void updateResources(String bundle, ContainerPlan.Resources r) {
            calls.add("update " + r.memoryLimitBytes());
        }

        @Override
        public void reopenLog(String bundle) {
            calls.add("reopen");
        }

        @Override
        public void delete(String bundle) {
            calls.add("delete");
            state.remove(bundle);
        }
    }

    final FakeRuntime runtime = new FakeRuntime();
    final Map<String, String> leases = new HashMap<>();
    Image image;
    PodManager pods;
    ContainerManager containers;
    Sandbox sandbox;

    @BeforeEach
    void setUp() throws Exception {
        Path layer = Files.createDirectories(dir.resolve("layers/1"));
        Files.createDirectories(layer.resolve("etc"));
        Files.writeString(layer.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n");
        Files.writeString(layer.resolve("etc/group"), "root:x:0:\nweb:x:1000:\nwheel:x:10:web\n");
        image = new Image("sha256:abc", List.of("docker.io/library/busybox:1"), List.of(), 100,
                new ImageConfig(List.of("/bin/sh", "-c"), List.of("echo hi"), List.of("PATH=/bin", "A=image"), "/work",
                        "web", "SIGQUIT", Map.of(), Set.of(), Set.of(), "linux", "amd64"),
                "sha256:m", List.of("sha256:c1"), List.of(layer));
        pods = new PodManager(dir.resolve("state"), dir.resolve("run"), new PodNamespaces() {
            @Override
            public void create(Path d, Set<Kind> kinds, String hostname) {
            }

            @Override
            public void remove(Path d) {
            }

            @Override
            public Set<Kind> lost(Path d, Set<Kind> kinds) {
                return Set.of();
            }
        }, new PodCgroups() {
            @Override
            public boolean ensure(String parent) {
                return false;
            }

            @Override
            public void remove(String parent) {
            }

            @Override
            public void update(String parent, io.berth.agent.pod.PodLimits limits) {
            }
        }, new PodNetwork() {
            @Override
            public List<String> setUp(Sandbox s, Path netns) {
                return List.of("10.0.0.2");
            }

            @Override
            public void tearDown(Sandbox s, Path netns) {
            }

            @Override
            public void reconcile(Set<String> live) {
            }

            @Override
            public Readiness readiness() {
                return new Readiness(true, "", "");
            }

            @Override
            public void updatePodCidr(String cidr) {
            }
        }, new io.berth.agent.pod.PodInit() {
            @Override
            public void start(Sandbox s, Path pin) {
                throw new AssertionError("no pod here shares its PID namespace");
            }

            @Override
            public void stop(Sandbox s, Path pin) {
            }

            @Override
            public void remove(Sandbox s) {
            }
        }, "boot-1");
        containers = newManager();
        sandbox = pods.run(new SandboxRequest(new Sandbox.PodMeta("web", "u1", "default", 0), "", dir.resolve("logs").toString(),
                new Sandbox.Dns(List.of(), List.of(), List.of()), List.of(), Map.of(), Map.of(), "/kubepods/pod-u1",
                new Sandbox.NamespaceModes(Sandbox.NamespaceModes.Mode.POD, Sandbox.NamespaceModes.Mode.CONTAINER,
                        Sandbox.NamespaceModes.Mode.POD), false, ""));
    }

    /** Every manager a test made: their writes behind end before the temp dir goes. */
    final List<ContainerManager> managers = new ArrayList<>();

    @AfterEach
    void awaitRecordWrites() {
        managers.forEach(ContainerManager::awaitRecordWrites);
    }

    /** A manager over the test's state; a second one is a restarted agent, so the first's writes end first. */
    ContainerManager newManager() {
        awaitRecordWrites();
        var m = new ContainerManager(dir.resolve("state"), dir.resolve("run"), pods, new ImageSource() {
            @Override
            public Optional<Image> find(String ref) {
                return ref.equals("busybox") || ref.equals(image.id()) ? Optional.of(image) : Optional.empty();
            }

            @Override
            public void lease(String imageId, String holder) {
                leases.put(holder, imageId);
            }

            @Override
            public void release(String holder) {
                leases.remove(holder);
            }
        }, runtime);
        managers.add(m);
        return m;
    }

    static ContainerRequest request(String name, List<String> command, ContainerRequest.Security security) {
        return new ContainerRequest(name, 0, "busybox", command, List.of(), "", Map.of("A", "request"), List.of(),
                List.of(), Map.of("app", "web"), Map.of(), name + "/0.log", false, false, false, ContainerPlan.Resources.NONE,
                security, "");
    }

    static ContainerRequest.Security security() {
        return new ContainerRequest.Security(false, List.of(), List.of("NET_RAW"), false, null, null, "", List.of(5L),
                true, new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.RUNTIME_DEFAULT, ""), "CONTAINER", "", 0,
                List.of(), List.of());
    }

    @Test
    void createBuildsThePlanFromRequestImageAndSandbox() {
        Container c = containers.create(sandbox.id(), request("app", List.of(), security()));
        assertEquals(Container.State.CREATED, c.state());
        assertEquals("sha256:abc", c.imageId());
        assertEquals("SIGQUIT", c.stopSignal(), "the image's stop signal");
        assertEquals("sha256:abc", leases.get(c.id()), "the image is leased while the container exists");
        ContainerPlan plan = runtime.plans.get(c.bundleDir());
        assertEquals(List.of("/bin/sh", "-c", "echo hi"), plan.args());
        assertTrue(plan.env().contains("A=request"), "the request's env overrides the image's");
        assertTrue(plan.env().contains("PATH=/bin"));
        assertEquals("/work", plan.cwd());
        assertEquals(1000, plan.uid(), "the image's User, resolved through its /etc/passwd");
        assertEquals(1000, plan.gid());
        assertEquals(List.of(10L, 5L), plan.additionalGids(), "group memberships and supplemental groups");
        assertTrue(!plan.capabilities().contains("CAP_NET_RAW") && plan.capabilities().contains("CAP_CHOWN"));
        assertEquals(PlanBuilder.DEFAULT_MASKED_PATHS, plan.maskedPaths());
        assertEquals(dir.resolve("logs/app/0.log").toString(), plan.logPath());
        assertEquals("/kubepods/pod-u1", plan.cgroupParent());
        assertTrue(plan.mounts().stream().anyMatch(m -> m.destination().equals("/etc/resolv.conf")));
        assertTrue(plan.namespaces().contains(new ContainerPlan.NamespaceJoin("NET", sandbox.pinsDir() + "/net")));
    }

    @Test
    void theRequestsCommandReplacesEntrypointAndCmd() {
        Container c = containers.create(sandbox.id(), request("app", List.of("sleep", "9"), security()));
        assertEquals(List.of("sleep", "9"), runtime.plans.get(c.bundleDir()).args());
    }

    @Test
    void aDuplicateNameIsRefusedNamingTheHolderAndFreedOnRemove() {
        Container c = containers.create(sandbox.id(), request("app", List.of(), security()));
        var e = assertThrows(BerthException.class, () -> containers.create(sandbox.id(), request("app", List.of(), security())));
        assertEquals(BerthException.Kind.ALREADY_EXISTS, e.kind());
        assertTrue(e.getMessage().contains(c.id()), e.getMessage());
        containers.remove(c.id());
        containers.create(sandbox.id(), request("app", List.of(), security()));
    }

    @Test
    void aFailedCreateLeavesNothingAndReleasesTheName() throws Exception {
        runtime.failCreate = true;
        var e = assertThrows(BerthException.class, () -> containers.create(sandbox.id(), request("app", List.of(), security())));
        assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());
        assertTrue(containers.list().isEmpty());
        assertTrue(leases.isEmpty());
        assertTrue(runtime.calls.contains("delete"));
        runtime.failCreate = false;
        containers.create(sandbox.id(), request("app", List.of(), security()));
    }

    @Test
    void lifecycleStartStopRemove() {
        runtime.honoured = Set.of(3, 9);
        Container c = containers.create(sandbox.id(), request("app", List.of(), security()));
        c = containers.start(c.id());
        assertEquals(Container.State.RUNNING, c.state());
        containers.stop(c.id(), 5);
        assertTrue(runtime.calls.contains("kill 3"), "SIGQUIT, the image's stop signal: " + runtime.calls);
        c = containers.get(c.id());
        assertEquals(Container.State.EXITED, c.state());
        assertEquals(131, c.exitCode());
        containers.stop(c.id(), 5);
        containers.remove(c.id());
        containers.remove(c.id());
        assertTrue(containers.find(c.id()).isEmpty());
        assertTrue(leases.isEmpty());
    }

    @Test
    void aProcessIgnoringTheStopSignalIsKilledAfterTheTimeout() {
        runtime.honoured = Set.of(9);
        Container c = containers.start(containers.create(sandbox.id(), request("app", List.of(), security())).id());
        containers.stop(c.id(), 1);
        assertEquals(List.of("create", "start", "kill 3", "kill 9 all"), runtime.calls);
        assertEquals(Container.State.EXITED, containers.get(c.id()).state());
    }

    @Test
    void aVanishedShimIsReportedExitedWithAReasonSayingSo() {
        Container c = containers.start(containers.create(sandbox.id(), request("app", List.of(), security())).id());
        runtime.state.remove(c.bundleDir());
        c = containers.get(c.id());
        assertEquals(Container.State.EXITED, c.state());
        assertEquals("ShimLost", c.reason());
    }

    @Test
    void everyChangeIsAnnouncedOnceInOrderIncludingAnExitTheShimReported() {
        var seen = new ArrayList<String>();
        containers.listen((change, c) -> seen.add(change + " " + c.name() + " " + c.state()));
        Container a = containers.start(containers.create(sandbox.id(), request("a", List.of(), security())).id());
        // The container exits on its own: whoever looks first (a status call, the shim's report) announces it, once.
        runtime.state.put(a.bundleDir(), new Observed(Phase.EXITED, 42, 1000, 3000, 3, "Error", ""));
        containers.find(a.id());
        containers.get(a.id());
        containers.list();
        containers.remove(a.id());
        Container b = containers.start(containers.create(sandbox.id(), request("b", List.of(), security())).id());
        runtime.state.remove(b.bundleDir()); // its shim vanished
        containers.find(b.id());
        assertEquals(List.of("CREATED a CREATED", "STARTED a RUNNING", "STOPPED a EXITED", "DELETED a EXITED",
                "CREATED b CREATED", "STARTED b RUNNING", "STOPPED b EXITED"), seen);
        assertEquals("ShimLost", containers.records().getFirst().reason());
    }

    @Test
    void recordsSurviveARestart() {
        Container c = containers.start(containers.create(sandbox.id(), request("app", List.of(), security())).id());
        var reloaded = newManager();
        reloaded.recover();
        assertEquals(Container.State.RUNNING, reloaded.get(c.id()).state());
        assertEquals(c.id(), reloaded.get(c.id().substring(0, 10)).id());
    }

    @Test
    void stoppingThePodStopsItsContainersAndRemovingItRemovesThem() {
        Container c = containers.start(containers.create(sandbox.id(), request("app", List.of(), security())).id());
        pods.stop(sandbox.id());
        assertEquals(Container.State.EXITED, containers.get(c.id()).state());
        pods.remove(sandbox.id());
        assertTrue(containers.find(c.id()).isEmpty());
    }

    @Test
    void refusedRequests() {
        assertKind(BerthException.Kind.NOT_FOUND, () -> containers.create("nope", request("a", List.of(), security())));
        var noImage = new ContainerRequest("a", 0, "nginx", List.of(), List.of(), "", Map.of(), List.of(), List.of(),
                Map.of(), Map.of(), "", false, false, false, ContainerPlan.Resources.NONE, security(), "");
        assertKind(BerthException.Kind.NOT_FOUND, () -> containers.create(sandbox.id(), noImage));
        var s = security();
        var badCap = new ContainerRequest.Security(false, List.of("CAP_FLY"), List.of(), false, null, null, "", List.of(),
                false, s.seccomp(), "CONTAINER", "", 0, List.of(), List.of());
        assertKind(BerthException.Kind.INVALID_ARGUMENT, () -> containers.create(sandbox.id(), request("a", List.of(), badCap)));
        var badUser = new ContainerRequest.Security(false, List.of(), List.of(), false, null, null, "nobody", List.of(),
                false, s.seccomp(), "CONTAINER", "", 0, List.of(), List.of());
        assertKind(BerthException.Kind.INVALID_ARGUMENT, () -> containers.create(sandbox.id(), request("b", List.of(), badUser)));
        Container c = containers.create(sandbox.id(), request("c", List.of(), security()));
        assertKind(BerthException.Kind.FAILED_PRECONDITION, () -> containers.execSync(c.id(), List.of("true"), Duration.ZERO));
        assertTrue(leases.values().stream().allMatch(v -> v.equals("sha256:abc")) && leases.size() == 1,
                "failed creates release their lease: " + leases);
    }

    static ContainerRequest.Security target(String targetId) {
        var s = security();
        return new ContainerRequest.Security(false, List.of(), List.of(), false, null, null, "", List.of(), false,
                s.seccomp(), "TARGET", targetId, 0, List.of(), List.of());
    }

    @Test
    void pidModeTargetJoinsTheRunningTargetsPidNamespace() {
        Container app = containers.create(sandbox.id(), request("app", List.of(), security()));
        var e = assertThrows(BerthException.class, () -> containers.create(sandbox.id(), request("debug", List.of(), target(app.id()))));
        assertEquals(BerthException.Kind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains(app.id()) && e.getMessage().contains("is CREATED, not RUNNING"), e.getMessage());

        containers.start(app.id());
        Container debug = containers.create(sandbox.id(), request("debug", List.of(), target(app.id())));
        var pid = runtime.plans.get(debug.bundleDir()).namespaces().stream().filter(n -> n.type().equals("PID")).toList();
        assertEquals(List.of(new ContainerPlan.NamespaceJoin("PID", "/proc/42/ns/pid", 42, 777)), pid,
                "the target's process's namespace, with its identity");

        e = assertThrows(BerthException.class, () -> containers.create(sandbox.id(), request("d2", List.of(), target("nope"))));
        assertEquals(BerthException.Kind.NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("target container nope not found"), e.getMessage());
        assertKind(BerthException.Kind.INVALID_ARGUMENT, () -> containers.create(sandbox.id(), request("d3", List.of(), target(""))));

        Sandbox other = pods.run(new SandboxRequest(new Sandbox.PodMeta("other", "u2", "default", 0), "",
                dir.resolve("logs2").toString(), new Sandbox.Dns(List.of(), List.of(), List.of()), List.of(), Map.of(),
                Map.of(), "/kubepods/pod-u2", new Sandbox.NamespaceModes(Sandbox.NamespaceModes.Mode.POD,
                        Sandbox.NamespaceModes.Mode.CONTAINER, Sandbox.NamespaceModes.Mode.POD), false, ""));
        e = assertThrows(BerthException.class, () -> containers.create(other.id(), request("d4", List.of(), target(app.id()))));
        assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("belongs to pod " + sandbox.id()), e.getMessage());

        containers.stop(app.id(), 0);
        e = assertThrows(BerthException.class, () -> containers.create(sandbox.id(), request("d5", List.of(), target(app.id()))));
        assertEquals(BerthException.Kind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains("is EXITED, not RUNNING"), e.getMessage());
        assertEquals(2, leases.size(), "refused creates hold no lease: " + leases);
    }

    @Test
    void devicesReachThePlanAndABadOneRefusesTheCreate() {
        var r = request("dev", List.of(), security());
        var withDevice = new ContainerRequest(r.name(), 0, r.image(), r.command(), r.args(), "", r.env(), List.of(),
                List.of(new ContainerRequest.Device("/dev/null", "/dev/mydev", "rw")), r.labels(), Map.of(), r.logPath(),
                false, false, false, ContainerPlan.Resources.NONE, r.security(), "");
        Container c = containers.create(sandbox.id(), withDevice);
        assertEquals(List.of(new ContainerPlan.Device("/dev/mydev", "c", 1, 3, 0666, 0, 0, "rw")),
                runtime.plans.get(c.bundleDir()).devices());
        var missing = new ContainerRequest("gone", 0, r.image(), r.command(), r.args(), "", r.env(), List.of(),
                List.of(new ContainerRequest.Device("/dev/berth-no-such-device", "/dev/x", "rw")), r.labels(), Map.of(),
                r.logPath(), false, false, false, ContainerPlan.Resources.NONE, r.security(), "");
        var e = assertThrows(BerthException.class, () -> containers.create(sandbox.id(), missing));
        assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("/dev/berth-no-such-device"), e.getMessage());
        assertEquals(1, containers.list().size(), "nothing left of the refused one");
    }

    @Test
    void capabilityArithmetic() {
        assertEquals(List.of("CAP_NET_ADMIN"), PlanBuilder.capabilities(List.of("net_admin"), List.of("ALL")));
        assertTrue(PlanBuilder.capabilities(List.of("SYS_ADMIN"), List.of()).contains("CAP_SYS_ADMIN"));
        assertEquals(3, Signals.number("SIGQUIT", 15));
        assertEquals(15, Signals.number("", 15));
        assertEquals(36, Signals.number("SIGRTMIN+2", 15));
    }

    private static void assertKind(BerthException.Kind kind, org.junit.jupiter.api.function.Executable e) {
        assertEquals(kind, assertThrows(BerthException.class, e).kind());
    }
}
