package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.ListPodSandboxRequest;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.PodSandboxState;
import io.berth.cri.v1.PodSandboxStatusRequest;
import io.berth.cri.v1.PortMapping;
import io.berth.cri.v1.Protocol;
import io.berth.cri.v1.StatusRequest;
import io.berth.e2e.AgentProcess;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.testing.RequiresRoot;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pod networking through the agent: pods get their own addresses from the built-in network, reach
 * each other and are reached from the node and through host ports; a kill -9 of the agent in the
 * middle of pod set-ups hands out no address twice and leaks none. Traffic stays between the
 * node and the test's own pods.
 */
@RequiresRoot
class NetworkIT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("net");
    static final Pods pods = bed.pods();

    /** A pod of namespace net with neither log directory nor cgroup parent (so the agent makes no pod cgroup). */
    static String runPod(String name, PortMapping... ports) {
        var config = pods.pod(name, NamespaceMode.CONTAINER).clearLogDirectory().addAllPortMappings(List.of(ports));
        config.getMetadataBuilder().setNamespace("net");
        config.getLinuxBuilder().clearCgroupParent();
        return pods.runPod(config);
    }

    /** A container that logs nothing (its pod has no log directory). */
    static String runContainer(String pod, String name, String... command) {
        return pods.run(pod, pods.container(name, command).clearLogPath());
    }

    static String ip(String pod) {
        return bed.cri().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
                .getStatus().getNetwork().getIp();
    }

    /** GET url from the node, retried for a few seconds while the server in the pod starts. */
    static String get(String url) throws Exception {
        try (var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            Exception last = null;
            while (System.nanoTime() < deadline) {
                try {
                    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                            HttpResponse.BodyHandlers.ofString()).body();
                } catch (java.io.IOException e) {
                    last = e;
                    Thread.sleep(100);
                }
            }
            throw new AssertionError("no answer from " + url, last);
        }
    }

    @Test
    void podsGetAddressesReachEachOtherAndAreReachedFromTheNodeAndThroughHostPorts() throws Exception {
        assertTrue(bed.cri().runtime().status(StatusRequest.getDefaultInstance()).getStatus().getConditionsList().stream()
                .anyMatch(c -> c.getType().equals("NetworkReady") && c.getStatus()));
        int hostPort = AgentProcess.freePort();
        String server = runPod("server", PortMapping.newBuilder().setProtocol(Protocol.TCP).setContainerPort(8080)
                .setHostPort(hostPort).build());
        runContainer(server, "httpd", "sh", "-c",
                "mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www");
        String client = runPod("client");
        String clientContainer = runContainer(client, "sleeper", "sleep", "600");
        String serverIp = ip(server);
        assertFalse(serverIp.isEmpty());
        assertNotEquals(serverIp, ip(client));
        assertTrue(serverIp.startsWith("10.217."), "from the configured pod CIDR: " + serverIp);

        assertEquals("hello-from-server\n", get("http://" + serverIp + ":8080/"), "node to pod");
        assertEquals("hello-from-server\n", get("http://127.0.0.1:" + hostPort + "/"), "host port from the node");

        String fetched = "";
        String why = "";
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        // busybox-static's wget crashes in glibc's static NSS; nc speaks plain HTTP/1.0 as well.
        while (System.nanoTime() < deadline && !fetched.endsWith("\r\n\r\nhello-from-server\n")) {
            var r = bed.cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(clientContainer)
                    .addCmd("sh").addCmd("-c")
                    .addCmd("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 " + serverIp + " 8080")
                    .setTimeout(10).build());
            fetched = r.getStdout().toStringUtf8();
            why = "exit " + r.getExitCode() + ": " + r.getStderr().toStringUtf8();
        }
        assertTrue(fetched.startsWith("HTTP/1.") && fetched.endsWith("\r\n\r\nhello-from-server\n"),
                "pod to pod (" + why + "): " + fetched);
    }

    @Test
    void aKillDuringPodSetUpsHandsOutNoAddressTwiceAndLeaksNone() throws Exception {
        var started = new ArrayList<String>();
        try (var pool = Executors.newFixedThreadPool(4)) {
            for (int i = 0; i < 8; i++) {
                int n = i;
                pool.submit(() -> {
                    try {
                        synchronized (started) {
                            started.add(runPod("crash-" + n));
                        }
                    } catch (RuntimeException e) {
                        // the agent died under this call: expected for some of them
                    }
                });
            }
            Thread.sleep(150);
            bed.agent().kill(); // kill -9, mid-way through some set-ups
        }
        bed.cri().close();
        bed.restartAgent();

        var live = new HashSet<String>();
        var ips = new HashSet<String>();
        for (var pod : bed.cri().runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            live.add(pod.getId());
            if (pod.getState() == PodSandboxState.SANDBOX_READY) {
                assertTrue(ips.add(ip(pod.getId())), "address handed out twice: " + ip(pod.getId()));
            }
        }
        assertTrue(live.containsAll(started), "every sandbox whose RunPodSandbox answered survives the kill");
        // Every reservation on disk belongs to a sandbox the agent knows: nothing leaked.
        Path ipam = bed.agent().dir().resolve("state/network/ipam");
        try (var files = Files.list(ipam)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String owner = Files.readString(f).lines().findFirst().orElse("");
                assertTrue(live.contains(owner), "reservation " + f.getFileName() + " belongs to " + owner
                        + ", which is not a sandbox: leaked");
            }
        }
        // New pods get fresh addresses.
        Set<String> fresh = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            String ip = ip(runPod("after-" + i));
            assertFalse(ips.contains(ip), ip + " was already handed out");
            assertTrue(fresh.add(ip));
        }
    }
}
