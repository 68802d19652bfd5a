package io.berth.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.CgroupDriver;
import io.berth.cri.v1.CheckpointContainerRequest;
import io.berth.cri.v1.RuntimeConfigRequest;
import io.berth.cri.v1.RuntimeCondition;
import io.berth.cri.v1.StatusRequest;
import io.berth.cri.v1.VersionRequest;
import io.berth.kernel.Processes;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The foundation, end to end: a real agent process, driven through its real socket and HTTP port. */
class AgentIT {
    @TempDir
    static Path dir;

    static AgentProcess agent;
    static CriClient cri;

    @BeforeAll
    static void start() throws Exception {
        agent = AgentProcess.start(dir.resolve("a"));
        cri = agent.client();
    }

    @AfterAll
    static void stop() throws Exception {
        if (cri != null) cri.close();
        if (agent != null) agent.close();
    }

    @Test
    void versionNamesBerthAndCriV1() {
        var v = cri.runtime().version(VersionRequest.newBuilder().setVersion("v1").build());
        assertEquals("berth", v.getRuntimeName());
        assertEquals("v1", v.getRuntimeApiVersion());
        assertEquals("0.1.0", v.getVersion());
        assertTrue(v.getRuntimeVersion().matches("\\d+\\.\\d+\\.\\d+.*"), v.getRuntimeVersion());
    }

    @Test
    void statusTellsTheTruthAboutReadiness() {
        var status = cri.runtime().status(StatusRequest.newBuilder().setVerbose(true).build());
        Map<String, RuntimeCondition> byType = status.getStatus().getConditionsList().stream()
                .collect(Collectors.toMap(RuntimeCondition::getType, c -> c));
        assertTrue(byType.get("RuntimeReady").getStatus());
        assertTrue(byType.get("NetworkReady").getStatus(), "the built-in network with its default pod CIDR: "
                + byType.get("NetworkReady"));
        String config = status.getInfoOrThrow("config");
        assertTrue(config.contains("\"socket\":\"" + agent.socket() + "\""), config);
        assertTrue(config.contains("\"state_dir\""), config);
    }

    @Test
    void networkIsNotReadyWithoutAPodCidrAndSaysWhy(@TempDir Path own) throws Exception {
        Path config = Files.writeString(own.resolve("config.toml"), "[network]\npod_cidrs = []\n");
        try (var other = AgentProcess.start(own.resolve("a"), "--config", config.toString());
                var client = other.client()) {
            RuntimeCondition network = client.runtime().status(StatusRequest.getDefaultInstance()).getStatus()
                    .getConditionsList().stream().filter(c -> c.getType().equals("NetworkReady")).findFirst().orElseThrow();
            assertFalse(network.getStatus(), "no pod CIDR until kubelet sends one");
            assertFalse(network.getReason().isEmpty());
            assertFalse(network.getMessage().isEmpty());
        }
    }

    /** ImagePuller.warmUp: after start the agent runs its registry client and unpack pipeline once, quietly. */
    @Test
    void theAgentWarmsUpItsPullPathAfterStart() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!agent.log().contains("image pulls warmed up") && System.nanoTime() < deadline) {
            assertFalse(agent.log().contains("image pull warm-up did not finish"), agent.log());
            Thread.sleep(100);
        }
        assertTrue(agent.log().contains("image pulls warmed up"), "no warm-up in the agent's log:\n" + agent.log());
    }

    /** JitPriority: the agent's JIT compiler threads run at nice 19, its other threads at the agent's own. */
    @Test
    void theJitCompilesAtTheLowestPriority() throws Exception {
        int compilers = 0;
        int atZero = 0;
        try (var tasks = Files.list(Path.of("/proc/" + agent.pid() + "/task"))) {
            for (Path task : tasks.toList()) {
                String comm;
                int nice;
                try {
                    comm = Files.readString(task.resolve("comm")).strip();
                    nice = Processes.nice(Long.parseLong(task.getFileName().toString()));
                } catch (java.nio.file.NoSuchFileException ended) {
                    continue; // a thread that ended meanwhile
                }
                if (io.berth.kernel.JitThreads.isCompiler(comm)) {
                    compilers++;
                    assertEquals(19, nice, comm);
                } else if (nice == 0) {
                    atZero++;
                }
            }
        }
        assertTrue(compilers >= 1, "the agent has compiler threads");
        assertTrue(atZero > 10, "the agent's own threads keep nice 0: " + atZero);
    }

    @Test
    void statusWithoutVerboseHasNoInfo() {
        assertTrue(cri.runtime().status(StatusRequest.getDefaultInstance()).getInfoMap().isEmpty());
    }

    @Test
    void runtimeConfigReportsTheNodesCgroupDriver() throws Exception {
        String init = Files.readString(Path.of("/proc/1/comm")).strip();
        var expected = init.equals("systemd") ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
        assertEquals(expected, cri.runtime().runtimeConfig(RuntimeConfigRequest.getDefaultInstance())
                .getLinux().getCgroupDriver());
    }

    @Test
    void checkpointingIsUnimplementedAndSaysWhy() {
        var e = assertThrows(StatusRuntimeException.class, () -> cri.runtime()
                .checkpointContainer(CheckpointContainerRequest.newBuilder().setContainerId("x").build()));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("CRIU"), e.getStatus().getDescription());
    }

    @Test
    void socketIsOwnerAndGroupOnly() throws Exception {
        assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(agent.socket())));
    }

    @Test
    void aSecondAgentOnTheSameSocketExitsCleanlyAndTheFirstKeepsServing() throws Exception {
        try (var second = AgentProcess.launch(dir.resolve("second"), agent.socket(), AgentProcess.freePort())) {
            assertEquals(1, second.awaitExit(Duration.ofSeconds(60)), "second agent should exit");
            assertTrue(second.log().contains("another berth agent"), second.log());
        }
        assertTrue(Files.exists(agent.socket()));
        assertEquals("berth", cri.runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName());
    }

    @Test
    void healthzAnswersOk() throws Exception {
        var response = http("/healthz");
        assertEquals(200, response.statusCode());
        assertEquals("ok\n", response.body());
    }

    @Test
    void metricsParseAsPrometheusTextAndCountTheCalls() throws Exception {
        for (int i = 0; i < 3; i++) {
            cri.runtime().version(VersionRequest.getDefaultInstance());
        }
        assertThrows(StatusRuntimeException.class, () -> cri.runtime()
                .checkpointContainer(CheckpointContainerRequest.getDefaultInstance()));
        var response = http("/metrics");
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
        var samples = PrometheusText.parse(response.body());
        double versions = samples.value("berth_cri_requests_total",
                Map.of("service", "RuntimeService", "method", "Version", "code", "OK"));
        assertTrue(versions >= 3, "Version calls counted: " + versions);
        double unimplemented = samples.value("berth_cri_requests_total",
                Map.of("service", "RuntimeService", "method", "CheckpointContainer", "code", "UNIMPLEMENTED"));
        assertTrue(unimplemented >= 1, "unimplemented calls counted: " + unimplemented);
        double latencyCount = samples.value("berth_cri_request_duration_seconds_count",
                Map.of("service", "RuntimeService", "method", "Version", "code", "OK"));
        assertTrue(latencyCount >= 3);
        assertTrue(samples.names().contains("jvm_memory_bytes_used"), "JVM metrics are exported");
    }

    @Test
    void sigtermRemovesTheSocketAndExitsZero(@TempDir Path own) throws Exception {
        var other = AgentProcess.start(own);
        assertTrue(Files.exists(other.socket()));
        assertEquals(0, other.terminate(Duration.ofSeconds(30)), other.log());
        assertFalse(Files.exists(other.socket()), "socket removed on SIGTERM");
        assertTrue(other.log().contains("berth agent stopped"), other.log());
    }

    @Test
    void aStaleSocketIsReplaced(@TempDir Path own) throws Exception {
        Path socket = own.resolve("run/berth.sock");
        Files.createDirectories(socket.getParent());
        try (var dead = ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        } // closed: the file stays, nobody listens
        assertTrue(Files.exists(socket));
        try (var other = AgentProcess.launch(own, socket, AgentProcess.freePort())) {
            other.awaitReady(Duration.ofSeconds(60));
            try (var client = other.client()) {
                assertEquals("berth", client.runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName());
            }
        }
    }

    @Test
    void aBadFlagIsRefusedWithAClearMessage(@TempDir Path own) throws Exception {
        try (var bad = AgentProcess.launch(own, own.resolve("s.sock"), AgentProcess.freePort(), "--http-port", "x")) {
            assertEquals(2, bad.awaitExit(Duration.ofSeconds(60)));
            assertTrue(bad.log().contains("http.port"), bad.log());
        }
    }

    private static HttpResponse<String> http(String path) throws Exception {
        try (var client = HttpClient.newHttpClient()) {
            var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + path)).build();
            var response = client.send(request, HttpResponse.BodyHandlers.ofString());
            assertNotEquals(0, response.statusCode());
            return response;
        }
    }
}
