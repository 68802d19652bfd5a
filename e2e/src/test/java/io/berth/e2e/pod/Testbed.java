package io.berth.e2e.pod;

import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.ListPodSandboxRequest;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.CriClient;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestRegistry;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What the pod tests stand on: a loopback registry serving busybox, an agent on this run's own
 * network ({@link TestNetwork}) with the image pulled, and the way to take all of it down again.
 */
record Testbed(TestRegistry registry, String image, AgentProcess agent, CriClient cri) {

    static Testbed start(Path dir, String tag) throws Exception {
        return start(dir, tag, "");
    }

    /** As {@link #start(Path, String)}, the agent's config file beginning with {@code config} (top-level TOML keys). */
    static Testbed start(Path dir, String tag, String config) throws Exception {
        var registry = TestRegistry.start(dir.resolve("registry"));
        try {
            String image = registry.push(TestImages.busybox(dir.resolve("busybox-layout")), "busybox:e2e");
            var agent = AgentProcess.start(dir.resolve("agent"), TestNetwork.flags(tag, config));
            var cri = agent.client();
            cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
            return new Testbed(registry, image, agent, cri);
        } catch (Exception | Error e) {
            registry.close();
            throw e;
        }
    }

    /** Removes a test's cgroup parent (kubelet would own it; here the test does) in every hierarchy, empty by now. */
    static void removeCgroupParent(String parent) throws IOException {
        io.berth.e2e.fixtures.CgroupParent.remove(parent);
    }

    /** Removes every pod the agent holds, then stops the agent and the registry and removes the run's network. */
    static void stop(TestRegistry registry, AgentProcess agent, CriClient cri, String tag) throws Exception {
        try {
            if (cri != null) {
                for (var pod : cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
                    cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
                }
                cri.close();
            }
        } finally {
            if (agent != null) agent.close();
            if (registry != null) registry.close();
            TestNetwork.cleanUp(tag);
        }
    }
}
