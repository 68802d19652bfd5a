package io.berth.kernel.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SyscallTableTest {
    @Test
    void numbersAreThoseOfX86_64() {
        assertEquals(0, SyscallTable.number("read"));
        assertEquals(1, SyscallTable.number("write"));
        assertEquals(56, SyscallTable.number("clone"));
        assertEquals(59, SyscallTable.number("execve"));
        assertEquals(257, SyscallTable.number("openat"));
        assertEquals(317, SyscallTable.number("seccomp"));
        assertEquals(435, SyscallTable.number("clone3"));
        assertEquals(450, SyscallTable.number("set_mempolicy_home_node"));
    }

    @Test
    void aNameX86_64LacksIsMinusOne() {
        assertEquals(-1, SyscallTable.number("chown32"));
        assertEquals(-1, SyscallTable.number("_llseek"));
        assertEquals(-1, SyscallTable.number(""));
    }

    @Test
    void theRuntimeDefaultFilterJumpsOnlyForwardWithinItselfAndEndsInAReturn() {
        byte[] f = BpfCompiler.compile(RuntimeDefault.forCapabilities(java.util.Set.of("CAP_CHOWN", "CAP_KILL")));
        var b = java.nio.ByteBuffer.wrap(f).order(java.nio.ByteOrder.nativeOrder());
        int n = f.length / 8;
        for (int i = 0; i < n; i++) {
            int code = b.getShort(i * 8) & 0xffff;
            int jt = b.get(i * 8 + 2) & 0xff;
            int jf = b.get(i * 8 + 3) & 0xff;
            if ((code & 0x07) == 0x05) { // BPF_JMP: both targets inside the program
                assertEquals(true, i + 1 + jt < n && i + 1 + jf < n, "jump at " + i);
            }
        }
        assertEquals(0x06, b.getShort((n - 1) * 8) & 0xffff, "the last instruction returns");
    }
}
