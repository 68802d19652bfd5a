package io.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.berth.kernel.testing.RequiresRoot;
import io.berth.shim.api.ExecRequest;
import io.berth.shim.api.ExecResponse;
import io.berth.shim.api.Mount;
import io.berth.shim.api.Resources;
import io.berth.shim.api.Seccomp;
import io.berth.shim.api.ShimException;
import java.nio.file.Files;
import java.util.List;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.State;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

@RequiresRoot
class ContainerIT extends ShimContainersTest {
    @Test
    void runsAsPidOneWithItsOwnHostnameAndRecordsTheExit() throws Exception {
        ShimClient c = tc.launch(tc.spec("hello", "echo pid=$$; hostname; echo err >&2; cat /etc/motd; exit 3").build());
        State created = c.state();
        assertEquals(State.Status.CREATED, created.getStatus());
        assertTrue(created.getPid() > 0);
        // Born in its cgroup (in every hierarchy), which holds nothing else: no thread of the shim.
        try (var hierarchies = Files.list(io.berth.kernel.cgroup.Cgroups.DEFAULT_ROOT)) {
            for (Path h : hierarchies.filter(h -> !h.getFileName().toString().equals("unified")).toList()) {
                Path tasks = h.resolve(tc.cgroupParent.substring(1)).resolve("hello").resolve("tasks");
                if (Files.exists(tasks)) {
                    assertEquals(List.of(Integer.toString(created.getPid())), Files.readAllLines(tasks), tasks.toString());
                }
            }
        }
        c.start();
        State s = TestContainers.awaitExit(c, Duration.ofSeconds(10));
        assertEquals(3, s.getExitCode());
        assertEquals("Error", s.getReason());
        String log = TestContainers.log(c);
        assertTrue(log.contains(" stdout F pid=1\n"), log);
        assertTrue(log.contains(" stdout F c-hello\n"), log);
        assertTrue(log.contains(" stderr F err\n"), log);
        assertTrue(log.contains(" stdout F from the image\n"), log);
    }

    @Test
    void appliesArgsEnvCwdAndCredentials() throws Exception {
        var spec = tc.spec("creds", "echo \"$GREETING\" $0 $1; pwd; id; touch /home/user/x && echo wrote").build().toBuilder();
        spec.setProcess(spec.getProcess().toBuilder().clearArgs().addAllArgs(List.of("sh", "-c",
                        "echo \"$GREETING\" $0 $1; pwd; id; touch x && echo wrote; true", "first", "second"))
                .addEnv("GREETING=hello world").setCwd("/home/user").setUid(1000).setGid(1000).addAdditionalGids(1001));
        ShimClient c = tc.launch(spec.build());
        c.start();
        State s = TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertEquals(0, s.getExitCode(), log);
        assertEquals("Completed", s.getReason());
        assertTrue(log.contains(" stdout F hello world first second\n"), log);
        assertTrue(log.contains(" stdout F /home/user\n"), log);
        assertTrue(log.contains(" stdout F uid=1000(user) gid=1000(user) groups=1001(extra)\n"), log);
        // /home/user came from the image owned by root: the working dir is created only if missing.
        assertTrue(log.contains("Permission denied") || log.contains(" stdout F wrote"), log);
    }

    @Test
    void mountsProcDevAndTheSpecMountsAndMasksPaths() throws Exception {
        Path vol = Files.createDirectories(dir.resolve("vol"));
        Files.writeString(vol.resolve("data"), "volume data");
        var spec = tc.spec("mounts", "cat /vol/data; echo; ls /proc | grep -c '^[0-9]'; cat /proc/1/cmdline | wc -c;"
                + " ls -l /dev/null /dev/ptmx | cut -c1-10; cat /proc/timer_list | wc -c; touch /proc/sys/x 2>&1;"
                + " echo hi > /vol/ro 2>&1; mount | grep -c ' /proc '")
                .addMounts(Mount.newBuilder().setSource(vol.toString()).setDestination("/vol").setType("bind").setReadonly(true))
                .addMaskedPaths("/proc/timer_list").addReadonlyPaths("/proc/sys");
        ShimClient c = tc.launch(spec.build());
        c.start();
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertTrue(log.contains(" stdout F volume data\n"), log);
        assertTrue(log.contains(" stdout F 1\n"), "only pid 1 in the container's /proc: " + log);
        assertTrue(log.contains(" stdout F crw-rw-rw-\n"), log);
        assertTrue(log.contains(" stdout F lrwxrwxrwx\n"), log);
        assertTrue(log.contains(" stdout F 0\n"), "masked /proc/timer_list (present on every kernel, unlike kcore) reads empty: " + log);
        assertTrue(log.contains("Read-only file system"), log);
    }

    @Test
    void readOnlyRootfsRefusesWrites() throws Exception {
        var spec = tc.spec("ro", "touch /newfile 2>&1; touch /dev/shm/ok && echo shm-ok");
        spec.setRootfs(spec.getRootfs().toBuilder().setReadonly(true));
        ShimClient c = tc.launch(spec.build());
        c.start();
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertTrue(log.contains("Read-only file system"), log);
        assertTrue(log.contains(" stdout F shm-ok\n"), log);
    }

    @Test
    void aDroppedCapabilityIsGone() throws Exception {
        var spec = tc.spec("caps", "chown 1000 /etc/motd && echo chowned; grep CapBnd /proc/self/status");
        ShimClient with = tc.launch(spec.build());
        with.start();
        TestContainers.awaitExit(with, Duration.ofSeconds(10));
        assertTrue(TestContainers.log(with).contains(" stdout F chowned\n"), TestContainers.log(with));

        var dropped = tc.spec("nocaps", "chown 1000 /etc/motd && echo chowned; grep CapBnd /proc/self/status");
        var caps = new java.util.ArrayList<>(dropped.getProcess().getCapabilitiesList());
        caps.remove("CAP_CHOWN");
        dropped.setProcess(dropped.getProcess().toBuilder().clearCapabilities().addAllCapabilities(caps).setNoNewPrivileges(true));
        ShimClient without = tc.launch(dropped.build());
        without.start();
        TestContainers.awaitExit(without, Duration.ofSeconds(10));
        String log = TestContainers.log(without);
        assertFalse(log.contains(" stdout F chowned\n"), log);
        assertTrue(log.contains("Operation not permitted"), log);
    }

    @Test
    void aLocalhostSeccompProfileIsEnforced() throws Exception {
        Path profile = dir.resolve("profile.json");
        Files.writeString(profile, """
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
                """);
        var spec = tc.spec("seccomp", "mkdir /tmp/d 2>&1; ls -d /tmp/d 2>&1");
        spec.setProcess(spec.getProcess().toBuilder().setSeccomp(Seccomp.newBuilder().setKind(Seccomp.Kind.LOCALHOST).setProfilePath(profile.toString())));
        ShimClient c = tc.launch(spec.build());
        c.start();
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertTrue(log.contains("Permission denied"), log);
        assertFalse(log.contains(" stdout F /tmp/d\n"), log);
    }

    @Test
    void theMemoryLimitIsEnforcedAndReportedAsOomKilled() throws Exception {
        var spec = tc.spec("oom", "head -c 300m /dev/zero | tail -c 200m > /dev/null; echo survived")
                .setResources(Resources.newBuilder().setMemoryLimitBytes(32 << 20));
        ShimClient c = tc.launch(spec.build());
        c.start();
        State s = TestContainers.awaitExit(c, Duration.ofSeconds(30));
        assertEquals("OOMKilled", s.getReason(), TestContainers.log(c));
    }

    @Test
    void thePidsLimitStopsAForkBomb() throws Exception {
        var spec = tc.spec("pids", "for i in $(head -c 60 /dev/zero | tr '\\0' x | grep -o x 2>/dev/null || echo x); do :; done;"
                + " n=0; while [ $n -lt 50 ]; do sleep 100 & n=$((n+1)); done 2>&1; sleep 100")
                .setResources(Resources.newBuilder().setPidsLimit(10));
        ShimClient c = tc.launch(spec.build());
        c.start();
        String log = TestContainers.awaitLog(c, "can't fork", Duration.ofSeconds(10));
        assertTrue(log.contains("Resource temporarily unavailable") || log.contains("can't fork"), log);
        c.kill(9, true);
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
    }

    @Test
    void execSeesTheContainersFilesystemAndPids() throws Exception {
        ShimClient c = tc.launch(tc.spec("exec", "echo inside > /tmp/marker; exec sleep 100").build());
        c.start();
        TestContainers.awaitLog(c, "", Duration.ofSeconds(1));
        ExecResponse r = null;
        for (int i = 0; i < 100; i++) {
            r = c.exec(ExecRequest.newBuilder().addArgs("sh").addArgs("-c").addArgs("cat /tmp/marker; ps; hostname; exit 7")
                    .setTimeoutMs(5000).build());
            if (r.getStdout().toStringUtf8().contains("inside")) break;
            Thread.sleep(20);
        }
        String out = r.getStdout().toStringUtf8();
        assertEquals(7, r.getExitCode(), out + r.getStderr().toStringUtf8());
        assertTrue(out.contains("inside"), out);
        assertTrue(out.matches("(?s).*\\n\\s*1 root\\s+sleep 100\\n.*"), out);
        assertTrue(out.contains("c-exec"), out);

        ExecResponse stdin = c.exec(ExecRequest.newBuilder().addArgs("wc").addArgs("-c")
                .setStdin(com.google.protobuf.ByteString.copyFromUtf8("12345")).build());
        assertEquals("5", stdin.getStdout().toStringUtf8().trim());

        ExecResponse slow = c.exec(ExecRequest.newBuilder().addArgs("sleep").addArgs("10").setTimeoutMs(200).build());
        assertTrue(slow.getTimedOut());

        ExecResponse big = c.exec(ExecRequest.newBuilder().addArgs("sh").addArgs("-c")
                .addArgs("head -c 20000000 /dev/zero").setTimeoutMs(20000).build());
        assertEquals(16 * 1024 * 1024, big.getStdout().size());
        assertTrue(big.getStdoutTruncated());

        // pid 1 of a PID namespace gets no signal it has no handler for (pid_namespaces(7)) but SIGKILL.
        c.kill(9, false);
        State s = TestContainers.awaitExit(c, Duration.ofSeconds(10));
        assertEquals(9, s.getSignal());
    }

    @Test
    void sigtermIsDeliveredAndSigkillEndsAContainerThatIgnoresIt() throws Exception {
        ShimClient c = tc.launch(tc.spec("term", "trap 'echo got-term' TERM; echo ready; while true; do sleep 0.1; done").build());
        c.start();
        TestContainers.awaitLog(c, "ready", Duration.ofSeconds(10));
        c.kill(15, false);
        TestContainers.awaitLog(c, "got-term", Duration.ofSeconds(10));
        assertEquals(State.Status.RUNNING, c.state().getStatus());
        c.kill(9, false);
        State s = TestContainers.awaitExit(c, Duration.ofSeconds(10));
        // Once (2026-11-23, a CI run) the signal was 0: the state and the shim's log say how it ended.
        java.util.function.Supplier<String> how = () -> s + " shim log: " + readOrMissing(c.bundle().resolve(ShimClient.LOG));
        assertEquals(9, s.getSignal(), how);
        assertEquals(137, s.getExitCode(), how);
        assertTrue(Files.exists(c.bundle().resolve("exit.pb")));
        // The shim is gone; state comes from the exit record, and kill is a no-op.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (c.alive() && System.nanoTime() < deadline) Thread.sleep(10);
        assertFalse(c.alive());
        assertEquals(9, c.state().getSignal());
        c.kill(9, false);
    }

    @Test
    void aTtyContainerHasAControllingTerminal() throws Exception {
        var spec = tc.spec("tty", "tty; echo line");
        spec.setProcess(spec.getProcess().toBuilder().setTty(true));
        ShimClient c = tc.launch(spec.build());
        c.start();
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertTrue(log.contains(" stdout F /dev/pts/0\r"), log);
    }

    @Test
    void aFailedCreateReportsTheShimsErrorAndLeavesNothing() throws Exception {
        var spec = tc.spec("bad", "true");
        spec.setProcess(spec.getProcess().toBuilder().clearArgs().addArgs("no-such-binary"));
        var e = assertThrows(ShimException.class, () -> tc.launch(spec.build()));
        assertTrue(e.getMessage().contains("no-such-binary not found in $PATH"), e.getMessage());
        assertFalse(ShimClient.connect(tc.bundle("bad")).alive());
    }

    @Test
    void anotherContainersPidNamespaceIsJoinedOnlyWhileItsProcessIsTheOneNamed() throws Exception {
        ShimClient target = tc.launch(tc.spec("target", "exec sleep 100").build());
        target.start();
        int pid = target.state().getPid();
        long startTime = io.berth.kernel.Processes.startTime(pid);
        var ref = io.berth.shim.api.NamespaceRef.newBuilder().setType(io.berth.shim.api.NamespaceRef.Type.PID)
                .setPath("/proc/" + pid + "/ns/pid").setOwnerPid(pid);
        var stale = tc.spec("stale", "true");
        stale.clearNamespaces().addAllNamespaces(tc.spec("stale", "true").getNamespacesList().stream()
                .filter(n -> n.getType() != io.berth.shim.api.NamespaceRef.Type.PID).toList())
                .addNamespaces(ref.clone().setOwnerStartTime(startTime + 1));
        var e = assertThrows(ShimException.class, () -> tc.launch(stale.build()));
        assertTrue(e.getMessage().contains("its process " + pid + " has exited (the pid now belongs to another process)"),
                e.getMessage());

        var joiner = tc.spec("joiner", "ps");
        joiner.clearNamespaces().addAllNamespaces(tc.spec("joiner", "ps").getNamespacesList().stream()
                .filter(n -> n.getType() != io.berth.shim.api.NamespaceRef.Type.PID).toList())
                .addNamespaces(ref.clone().setOwnerStartTime(startTime));
        ShimClient c = tc.launch(joiner.build());
        c.start();
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
        String log = TestContainers.log(c);
        assertTrue(log.lines().anyMatch(l -> l.matches(".* stdout F\\s+1 root\\s+sleep 100")), "the target is pid 1: " + log);
        target.kill(9, false);
        TestContainers.awaitExit(target, Duration.ofSeconds(10));
    }

    @Test
    void aContainerNeverStartedIsShutDown() throws Exception {
        ShimClient c = tc.launch(tc.spec("never", "echo should-not-run").build());
        int pid = c.state().getPid();
        c.shutdown();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (c.alive() && System.nanoTime() < deadline) Thread.sleep(10);
        assertFalse(c.alive());
        assertFalse(ProcessHandle.of(pid).isPresent());
        assertFalse(TestContainers.log(c).contains("should-not-run"));
    }

    @Test
    void theShimSurvivesItsLaunchersDeath() throws Exception {
        var spec = tc.spec("orphan", "echo started; sleep 100").build();
        Path specFile = dir.resolve("orphan.pb");
        Files.write(specFile, spec.toByteArray());
        Process launcher = new ProcessBuilder(io.berth.shim.api.ShimJvm.java().toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), LaunchMain.class.getName(), TestContainers.SHIM_LIB.toString(),
                spec.getBundle(), specFile.toString()).redirectErrorStream(true).start();
        try {
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(launcher.getInputStream()));
            String line = out.readLine();
            while (line != null && line.startsWith("WARNING:")) {
                line = out.readLine(); // the JDK's notes on libraries' sun.misc.Unsafe use
            }
            assertEquals("CREATED", line);
        } finally {
            launcher.destroyForcibly().waitFor();
        }
        ShimClient c = io.berth.shim.api.ShimClient.connect(Path.of(spec.getBundle()));
        tc.track(c.bundle());
        assertTrue(c.alive());
        c.start();
        TestContainers.awaitLog(c, "started", Duration.ofSeconds(10));
        assertEquals(State.Status.RUNNING, c.state().getStatus());
        c.kill(9, true);
        TestContainers.awaitExit(c, Duration.ofSeconds(10));
    }

    @Test
    void aKilledShimIsNoticedAndCleanupRemovesWhatItLeft() throws Exception {
        ShimClient c = tc.launch(tc.spec("killed", "echo started; sleep 100").build());
        c.start();
        TestContainers.awaitLog(c, "started", Duration.ofSeconds(10));
        int containerPid = c.state().getPid();
        long shimPid = Long.parseLong(Files.readString(c.bundle().resolve("shim.pid")).split(" ")[0]);
        ProcessHandle.of(shimPid).orElseThrow().destroyForcibly();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (c.alive() && System.nanoTime() < deadline) Thread.sleep(10);
        assertFalse(c.alive());
        assertThrows(ShimException.class, c::state, "no exit record: the agent must report the shim's death");
        io.berth.shim.api.ShimLauncher.cleanup(c.bundle());
        deadline = System.nanoTime() + 5_000_000_000L;
        while (ProcessHandle.of(containerPid).isPresent() && System.nanoTime() < deadline) Thread.sleep(10);
        assertFalse(ProcessHandle.of(containerPid).isPresent(), "container process left after cleanup");
    }

    private static String readOrMissing(java.nio.file.Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            return "(" + e + ")";
        }
    }
}
