package io.berth.e2e.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.StopContainerRequest;
import io.berth.e2e.testbed.Pods;
import io.berth.e2e.testbed.Testbed;
import io.berth.kernel.testing.RequiresRoot;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * CRI PID namespace mode TARGET, as kubelet uses it for {@code kubectl debug --target=CONTAINER}:
 * the ephemeral container joins the target container's PID namespace, which must exist and run.
 */
@RequiresRoot
class PidTargetIT {
    @RegisterExtension
    static final Testbed bed = Testbed.named("pt");
    static final Pods pods = bed.pods();

    @Test
    void aDebugContainerSeesItsTargetsProcessesAsItsOwn() throws Exception {
        String pod = pods.runPod("debugged", NamespaceMode.CONTAINER);
        String app = pods.run(pod, pods.container("app", Pods.pid(NamespaceMode.CONTAINER), "sleep", "600"));
        String debug = pods.run(pod, pods.container("debugger", Pods.target(app), "sh", "-c",
                "ps; echo pid=$$; echo one=$(tr '\\0' ' ' < /proc/1/cmdline); echo pids=$(ls /proc | grep '^[0-9]' | tr '\\n' ' ')"));
        var s = pods.awaitExit(debug, Duration.ofSeconds(30));
        String log = pods.log("debugged", "debugger");
        assertEquals(0, s.getExitCode(), log);
        assertTrue(log.lines().anyMatch(l -> l.matches(".* stdout F\\s+1 root\\s+.*sleep 600")), "ps shows the target as pid 1:\n" + log);
        assertEquals("sleep 600", Pods.value(log, "one"), log);
        assertTrue(Integer.parseInt(Pods.value(log, "pid")) > 1, "the debugger is not pid 1 of the namespace it joined:\n" + log);
        for (String p : Pods.value(log, "pids").split(" ")) {
            assertTrue(Integer.parseInt(p) < 100, "only the namespace's own pids, no host pid (" + p + "):\n" + log);
        }
        // The target runs on, undisturbed.
        assertEquals(ContainerState.CONTAINER_RUNNING, pods.status(app).getState());
        String ps = pods.exec(app, "ps");
        assertTrue(ps.lines().anyMatch(l -> l.trim().startsWith("1 ") && l.contains("sleep 600")), ps);
    }

    @Test
    void aTargetThatIsMissingOrNotRunningIsRefusedByItsId() throws Exception {
        String pod = pods.runPod("notarget", NamespaceMode.CONTAINER);
        String missing = "0123456789abcdef-no-such-container";
        var e = assertThrows(StatusRuntimeException.class,
                () -> pods.create(pod, pods.container("dbg", Pods.target(missing), "true")));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(missing), e.getStatus().getDescription());

        String idle = pods.create(pod, pods.container("idle", Pods.pid(NamespaceMode.CONTAINER), "sleep", "600"));
        e = assertThrows(StatusRuntimeException.class, () -> pods.create(pod, pods.container("dbg", Pods.target(idle), "true")));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(idle) && e.getStatus().getDescription().contains("CREATED"),
                e.getStatus().getDescription());

        String ended = pods.run(pod, pods.container("ended", Pods.pid(NamespaceMode.CONTAINER), "true"));
        pods.awaitExit(ended, Duration.ofSeconds(30));
        e = assertThrows(StatusRuntimeException.class, () -> pods.create(pod, pods.container("dbg", Pods.target(ended), "true")));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(ended) && e.getStatus().getDescription().contains("EXITED"),
                e.getStatus().getDescription());
        // A refused create holds no name: the same name works once the target runs.
        String app = pods.run(pod, pods.container("app", Pods.pid(NamespaceMode.CONTAINER), "sleep", "600"));
        String dbg = pods.run(pod, pods.container("dbg", Pods.target(app), "sleep", "600"));
        assertTrue(pods.awaitExec(dbg, List.of("sleep 600"), "ps").lines().anyMatch(l -> l.trim().startsWith("1 ")
                && l.contains("sleep 600")));
    }

    @Test
    void whenTheTargetEndsSoDoesItsDebugContainer() throws Exception {
        // Its pid 1 gone, the kernel kills the rest of the PID namespace (pid_namespaces(7)).
        String pod = pods.runPod("targetends", NamespaceMode.CONTAINER);
        String app = pods.run(pod, pods.container("app", Pods.pid(NamespaceMode.CONTAINER), "sleep", "600"));
        String debug = pods.run(pod, pods.container("debugger", Pods.target(app), "sleep", "700"));
        pods.awaitExec(debug, List.of("sleep 600", "sleep 700"), "ps");
        bed.cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(app).setTimeout(0).build());
        var s = pods.awaitExit(debug, Duration.ofSeconds(30));
        assertEquals(137, s.getExitCode(), s.toString());
    }
}
