package io.berth.kernel.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The device program generator, run by a small interpreter of the instructions it emits (the kernel
 * cannot test-run BPF_PROG_TYPE_CGROUP_DEVICE programs); DevicesBpfIT runs them in the kernel.
 */
class DeviceFilterTest {
    static final char CHAR = 'c';
    static final char BLOCK = 'b';

    @Test
    void onlyTheListedDevicesAreAllowed() {
        byte[] p = compile("c 1:3 rw");
        assertTrue(run(p, CHAR, 1, 3, "r"));
        assertTrue(run(p, CHAR, 1, 3, "rw"));
        assertFalse(run(p, CHAR, 1, 5, "r"), "/dev/zero is not listed");
        assertFalse(run(p, CHAR, 1, 3, "m"), "mknod is not in rw");
        assertFalse(run(compile(), CHAR, 1, 3, "r"), "an empty list denies everything");
    }

    @Test
    void aReadOnlyRuleDeniesAWriteOpen() {
        byte[] p = compile("c 10:229 r");
        assertTrue(run(p, CHAR, 10, 229, "r"));
        assertFalse(run(p, CHAR, 10, 229, "w"));
        assertFalse(run(p, CHAR, 10, 229, "rw"), "O_RDWR asks for both");
    }

    @Test
    void wildcardsMatchAnyNumber() {
        byte[] p = compile("c *:5 rw", "c 136:* rwm");
        assertTrue(run(p, CHAR, 1, 5, "rw"));
        assertTrue(run(p, CHAR, 7, 5, "r"), "any major with minor 5");
        assertFalse(run(p, CHAR, 1, 3, "r"));
        assertTrue(run(p, CHAR, 136, 0, "rw"));
        assertTrue(run(p, CHAR, 136, 4711, "m"), "any pts");
    }

    @Test
    void blockAndCharacterDevicesAreTellApart() {
        byte[] p = compile("b 7:0 rw");
        assertTrue(run(p, BLOCK, 7, 0, "rw"));
        assertFalse(run(p, CHAR, 7, 0, "r"), "char 7:0 (vcs) is not block 7:0 (loop0)");
        byte[] any = compile("a 7:0 r");
        assertTrue(run(any, BLOCK, 7, 0, "r"));
        assertTrue(run(any, CHAR, 7, 0, "r"));
    }

    @Test
    void anAllowAllRuleEndsTheProgram() {
        byte[] p = compile("c 1:3 rwm", "a *:* rwm", "b 8:0 r");
        assertEquals(6 + 5 + 2, p.length / 8, "prologue, the first rule, then r0 = 1; exit and nothing unreachable");
        assertTrue(run(p, BLOCK, 8, 16, "rwm"));
    }

    @Test
    void theDefaultListAllowsTheStandardNodesAndMknodOfAny() {
        byte[] p = compile("c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm");
        assertTrue(run(p, CHAR, 1, 9, "rw"));
        assertTrue(run(p, CHAR, 5, 2, "rw"), "ptmx");
        assertTrue(run(p, BLOCK, 8, 0, "m"));
        assertFalse(run(p, BLOCK, 8, 0, "r"), "a disk");
        assertFalse(run(p, CHAR, 10, 229, "rw"), "fuse is not in the default list");
    }

    @Test
    void rulesParseAndPrintInV1Syntax() {
        assertEquals(new DeviceRule('c', DeviceRule.ANY, 5, "rw"), DeviceRule.parse("c *:5 rw"));
        assertEquals("b 7:* r", DeviceRule.parse(" b 7:*  r ").toString());
        assertThrows(IllegalArgumentException.class, () -> DeviceRule.parse("c 1:3 rwx"));
        assertThrows(IllegalArgumentException.class, () -> DeviceRule.parse("c 1:3 rr"));
        assertThrows(IllegalArgumentException.class, () -> DeviceRule.parse("p 1:3 r"));
        assertThrows(IllegalArgumentException.class, () -> DeviceRule.parse("c 1 r"));
        assertThrows(IllegalArgumentException.class, () -> DeviceRule.parse("c x:3 r"));
        assertTrue(DeviceRule.isAccess("mrw"));
        assertFalse(DeviceRule.isAccess(""));
    }

    static byte[] compile(String... rules) {
        return DeviceFilter.compile(List.of(rules).stream().map(DeviceRule::parse).toList());
    }

    /** Runs the program on one request, as the kernel would: true when it returns 1. */
    static boolean run(byte[] program, char type, int major, int minor, String access) {
        int accessType = (DeviceFilter.access(access) << 16) | (type == BLOCK ? DeviceFilter.DEV_BLOCK : DeviceFilter.DEV_CHAR);
        int[] ctx = {accessType, major, minor};
        long[] r = new long[11];
        ByteBuffer b = ByteBuffer.wrap(program).order(ByteOrder.nativeOrder());
        int n = program.length / 8;
        int pc = 0;
        for (int steps = 0; steps < 10_000; steps++) {
            assertTrue(pc >= 0 && pc < n, "pc " + pc + " outside the program");
            int code = b.get(pc * 8) & 0xff;
            int regs = b.get(pc * 8 + 1) & 0xff;
            int dst = regs & 0xf;
            int src = regs >>> 4;
            short off = b.getShort(pc * 8 + 2);
            int imm = b.getInt(pc * 8 + 4);
            pc++;
            switch (code) {
                case DeviceFilter.LDX_MEM_W -> {
                    assertEquals(DeviceFilter.R1, src, "loads only from the context");
                    r[dst] = ctx[off / 4] & 0xffffffffL;
                }
                case DeviceFilter.ALU32_AND_K -> r[dst] = (r[dst] & imm) & 0xffffffffL;
                case DeviceFilter.ALU32_RSH_K -> r[dst] = (r[dst] & 0xffffffffL) >>> imm;
                case DeviceFilter.ALU32_MOV_K -> r[dst] = imm & 0xffffffffL;
                case DeviceFilter.ALU32_MOV_X -> r[dst] = r[src] & 0xffffffffL;
                case DeviceFilter.JMP_JNE_K -> pc += r[dst] != (long) imm ? off : 0;
                case DeviceFilter.JMP_JNE_X -> pc += r[dst] != r[src] ? off : 0;
                case DeviceFilter.JMP_EXIT -> {
                    assertTrue(r[0] == 0 || r[0] == 1, "returns 0 or 1");
                    return r[0] == 1;
                }
                default -> throw new AssertionError("unexpected opcode 0x" + Integer.toHexString(code) + " at " + (pc - 1));
            }
        }
        throw new AssertionError("no exit");
    }
}
