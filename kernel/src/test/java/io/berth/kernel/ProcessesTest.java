package io.berth.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProcessesTest {
    @Test
    void statNumbersFieldsAsProc5Does() throws Exception {
        long self = ProcessHandle.current().pid();
        var stat = Processes.stat(self);
        assertTrue("RS".contains(stat.field(3)), "state of a running JVM: " + stat.field(3));
        assertEquals(ProcessHandle.current().parent().orElseThrow().pid(), stat.number(4), "field 4 is the ppid");
        assertEquals(Processes.startTime(self), stat.number(22), "field 22 is the start time");
        assertEquals(stat.number(19), Processes.nice(self), "field 19 is the nice value");
    }
}
