package io.berth.e2e.testbed;

import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.ListPodSandboxRequest;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.CriClient;
import io.berth.e2e.fixtures.CgroupParent;
import io.berth.e2e.fixtures.CgroupV2Host;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What an end-to-end test class stands on: a loopback registry serving busybox, an agent on this
 * run's own network ({@link TestNetwork}) with the image pulled, a cgroup parent for the test's pods
 * (kubelet's cgroup_parent) and a scratch directory; and the way to take all of it down again.
 *
 * <p>Registered on a static field, it is up before the class's {@code @BeforeAll} methods and gone
 * after its {@code @AfterAll} ones:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final Testbed bed = Testbed.named("dev");
 * }</pre>
 */
public final class Testbed implements BeforeAllCallback, AfterAllCallback, AutoCloseable {
    private final String name;
    private final String agentConfig;
    private final List<String> agentWrapper;
    private final String tag = UUID.randomUUID().toString().substring(0, 6);
    private final String cgroupParent;
    private final Pods pods = new Pods(this);
    private Path dir;
    private TestRegistry registry;
    private String image;
    private String[] agentFlags;
    private AgentProcess agent;
    private CriClient cri;

    private Testbed(String name, String agentConfig, List<String> agentWrapper) {
        this.name = name;
        this.agentConfig = agentConfig;
        this.agentWrapper = agentWrapper;
        this.cgroupParent = "/berth-e2e-" + name + "-" + tag;
    }

    /** A testbed whose cgroup parent and scratch directory carry {@code name} (and a random tag). */
    public static Testbed named(String name) {
        return new Testbed(name, "", List.of());
    }

    /**
     * This testbed with {@code config} at the top of the agent's config file: TOML keys outside any
     * table (such as {@code stats_interval_seconds}) first, then tables of its own (not {@code [network]}).
     */
    public Testbed withAgentConfig(String config) {
        return new Testbed(name, config, agentWrapper);
    }

    /** This testbed with its agent on a cgroup v2 node, on this machine too ({@link CgroupV2Host}). */
    public Testbed onCgroupV2() {
        return new Testbed(name, agentConfig, CgroupV2Host.agentWrapper());
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        close();
    }

    /** Starts the registry, pushes busybox, starts the agent and pulls the image; on failure, undoes what it did. */
    public void start() throws Exception {
        try {
            dir = Files.createTempDirectory("berth-e2e-" + name + "-");
            registry = TestRegistry.start(dir.resolve("registry"));
            image = registry.push(TestImages.busybox(dir.resolve("busybox-layout")), "busybox:e2e");
            agentFlags = TestNetwork.flags(dir, tag, agentConfig);
            agent = AgentProcess.start(agentWrapper, dir.resolve("agent"), agentFlags);
            cri = agent.client();
            cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
        } catch (Exception | Error e) {
            try {
                close();
            } catch (Exception cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Starts the agent again on its directory and config, for a test that has closed {@link #cri()}
     * and stopped or killed {@link #agent()}; the old client and process are not touched.
     */
    public void restartAgent() throws IOException, InterruptedException {
        agent = AgentProcess.start(agentWrapper, agent.dir(), agentFlags);
        cri = agent.client();
    }

    public Path dir() {
        return dir;
    }

    public String image() {
        return image;
    }

    public AgentProcess agent() {
        return agent;
    }

    public CriClient cri() {
        return cri;
    }

    /** kubelet's cgroup_parent for the test's pods; unique, so that nothing clashes with the host's. */
    public String cgroupParent() {
        return cgroupParent;
    }

    /** The CRI calls of a pod test on this testbed. */
    public Pods pods() {
        return pods;
    }

    /** Where the pods' logs go: a directory per pod. */
    Path logs() {
        return dir.resolve("logs");
    }

    private interface Step {
        void run() throws Exception;
    }

    /**
     * Removes every pod the agent holds, then stops the agent and the registry, removes the run's
     * network and the cgroup parent (kubelet would own it; here the test does; empty by now) and the
     * scratch directory. Every step runs, whatever an earlier one threw; the first error is thrown
     * with the others attached. A second close (JUnit's, after a start that failed and closed) finds
     * nothing left to do.
     */
    @Override
    public void close() throws Exception {
        Exception failure = null;
        for (Step step : List.<Step>of(this::removePods,
                () -> {
                    if (cri != null) cri.close();
                    cri = null;
                },
                () -> {
                    if (agent != null) agent.close();
                    agent = null;
                },
                () -> {
                    if (registry != null) registry.close();
                    registry = null;
                },
                () -> TestNetwork.cleanUp(tag),
                () -> CgroupParent.remove(cgroupParent),
                this::removeDir)) {
            try {
                step.run();
            } catch (Exception e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }

    private void removePods() {
        if (cri == null) return;
        for (var pod : cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
        }
    }

    /** The scratch directory, unless something is still mounted below it (then deleting would reach into the mount). */
    private void removeDir() throws IOException {
        if (dir == null || !Files.exists(dir)) return;
        var mounts = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].startsWith(dir + "/")).toList();
        if (!mounts.isEmpty()) throw new IOException("mounts left below " + dir + ": " + mounts);
        try (var tree = Files.walk(dir)) {
            for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
        dir = null;
    }
}
