package io.berth.agent.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerListener.Change;
import io.berth.agent.container.ContainerPlan;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContainerEventsTest {
    static Container container(String id) {
        return new Container(id, "pod", "c", 0, "img", "sha256:1", Map.of(), Map.of(), Container.State.CREATED, 1, 0, 0,
                0, "", "", "", List.of(), "", ContainerPlan.Resources.NONE, "/b", "0:0");
    }

    @Test
    void eachSubscriberGetsEveryEventInOrder() throws Exception {
        var events = new ContainerEvents();
        try (var a = events.subscribe(8); var b = events.subscribe(8)) {
            events.changed(Change.CREATED, container("x"));
            events.changed(Change.STARTED, container("x"));
            for (var s : List.of(a, b)) {
                assertEquals(Change.CREATED, s.next(100).change());
                assertEquals(Change.STARTED, s.next(100).change());
                assertNull(s.next(10));
            }
        }
        assertEquals(0, events.subscribers());
    }

    @Test
    void aSubscriberThatFallsBehindIsDroppedWithoutSlowingThePublisher() throws Exception {
        var events = new ContainerEvents();
        var slow = events.subscribe(4);
        var fast = events.subscribe(1000);
        for (int i = 0; i < 500; i++) {
            events.changed(Change.CREATED, container("c" + i)); // never blocks, whoever is not reading
        }
        for (int i = 0; i < 500; i++) {
            assertEquals("c" + i, fast.next(10).container().id());
        }
        assertThrows(ContainerEvents.OverflowException.class, () -> slow.next(10));
        assertEquals(1, events.subscribers(), "the slow one is gone, the fast one stays");
    }
}
