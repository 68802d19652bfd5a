package io.berth.kernel.cgroup;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Compiles a device allow list into a {@code BPF_PROG_TYPE_CGROUP_DEVICE} program, cgroup v2's
 * device controller (Documentation/admin-guide/cgroup-v2.rst "Device controller"): the kernel runs
 * it on every open and mknod of a device node by a task of the cgroup; 1 allows, 0 denies (EPERM).
 *
 * <p>The shape is the one runc and crun generate (runc libcontainer/cgroups/devices/devicefilter.go):
 * load the context into registers, then one block per rule that jumps to the next block on the
 * first field that does not match and returns 1 when all match; after the last block, return 0.
 * The context is {@code struct bpf_cgroup_dev_ctx} (include/uapi/linux/bpf.h):
 * <pre>
 *   u32 access_type;  // (BPF_DEVCG_ACC_* &lt;&lt; 16) | BPF_DEVCG_DEV_*
 *   u32 major;
 *   u32 minor;
 * </pre>
 * A request matches a rule when its type matches (or the rule's is {@code a}), every access bit it
 * asks for is in the rule's, and major and minor match (or are wildcards): the v1 controller's
 * rule too. Only allow rules exist, so their order does not matter.
 */
public final class DeviceFilter {
    /** BPF_DEVCG_DEV_*. */
    static final int DEV_BLOCK = 1;
    static final int DEV_CHAR = 2;
    /** BPF_DEVCG_ACC_*. */
    static final int ACC_MKNOD = 1;
    static final int ACC_READ = 2;
    static final int ACC_WRITE = 4;

    /** The license string the kernel is given (MODULE_LICENSE syntax); no GPL-only helper is called. */
    public static final String LICENSE = "Apache";

    // Opcodes (include/uapi/linux/bpf_common.h, bpf.h): class | size/op | source.
    static final int LDX_MEM_W = 0x61;   // BPF_LDX | BPF_MEM | BPF_W
    static final int ALU32_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
    static final int ALU32_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
    static final int ALU32_MOV_K = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
    static final int ALU32_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
    static final int JMP_JNE_K = 0x55;   // BPF_JMP | BPF_JNE | BPF_K
    static final int JMP_JNE_X = 0x5d;   // BPF_JMP | BPF_JNE | BPF_X
    static final int JMP_EXIT = 0x95;    // BPF_JMP | BPF_EXIT

    static final int R0 = 0;
    static final int R1 = 1;
    static final int R2 = 2;
    static final int R3 = 3;
    static final int R4 = 4;
    static final int R5 = 5;

    private DeviceFilter() {
    }

    /** The program (struct bpf_insn array) that allows exactly {@code allowed} and denies everything else. */
    public static byte[] compile(List<DeviceRule> allowed) {
        var out = new ArrayList<long[]>();
        out.add(insn(LDX_MEM_W, R2, R1, 0, 0));     // r2 = ctx->access_type
        out.add(insn(ALU32_AND_K, R2, 0, 0, 0xffff)); // w2 &= 0xffff: the device type
        out.add(insn(LDX_MEM_W, R3, R1, 0, 0));     // r3 = ctx->access_type
        out.add(insn(ALU32_RSH_K, R3, 0, 0, 16));   // w3 >>= 16: the access asked for
        out.add(insn(LDX_MEM_W, R4, R1, 4, 0));     // r4 = ctx->major
        out.add(insn(LDX_MEM_W, R5, R1, 8, 0));     // r5 = ctx->minor
        for (DeviceRule rule : allowed) {
            List<long[]> tests = tests(rule);
            // Each test jumps past the rest of this block (tests + "r0 = 1; exit") when it fails.
            int blockLength = tests.size() + 2;
            for (int i = 0; i < tests.size(); i++) {
                long[] t = tests.get(i);
                if (t[0] == JMP_JNE_K || t[0] == JMP_JNE_X) {
                    t[3] = blockLength - i - 1;
                }
                out.add(t);
            }
            out.add(insn(ALU32_MOV_K, R0, 0, 0, 1));
            out.add(insn(JMP_EXIT, 0, 0, 0, 0));
            if (tests.isEmpty()) {
                // Allows everything: what follows could never run, and the verifier refuses unreachable code.
                return encode(out);
            }
        }
        out.add(insn(ALU32_MOV_K, R0, 0, 0, 0));
        out.add(insn(JMP_EXIT, 0, 0, 0, 0));
        return encode(out);
    }

    /** The tests of one rule; jump offsets are filled in by the caller. */
    private static List<long[]> tests(DeviceRule rule) {
        var t = new ArrayList<long[]>();
        if (rule.type() != 'a') {
            t.add(insn(JMP_JNE_K, R2, 0, 0, rule.type() == 'b' ? DEV_BLOCK : DEV_CHAR));
        }
        int access = access(rule.access());
        if (access != (ACC_READ | ACC_WRITE | ACC_MKNOD)) {
            // if ((r3 & access) != r3) the request asks for more than the rule gives
            t.add(insn(ALU32_MOV_X, R1, R3, 0, 0));
            t.add(insn(ALU32_AND_K, R1, 0, 0, access));
            t.add(insn(JMP_JNE_X, R1, R3, 0, 0));
        }
        if (rule.major() != DeviceRule.ANY) {
            t.add(insn(JMP_JNE_K, R4, 0, 0, (int) rule.major()));
        }
        if (rule.minor() != DeviceRule.ANY) {
            t.add(insn(JMP_JNE_K, R5, 0, 0, (int) rule.minor()));
        }
        return t;
    }

    static int access(String rwm) {
        int a = 0;
        for (char c : rwm.toCharArray()) {
            a |= switch (c) {
                case 'r' -> ACC_READ;
                case 'w' -> ACC_WRITE;
                case 'm' -> ACC_MKNOD;
                default -> throw new IllegalArgumentException("device access '" + rwm + "' is not a subset of rwm");
            };
        }
        return a;
    }

    /** {code, dst, src, off, imm}. */
    private static long[] insn(int code, int dst, int src, int off, int imm) {
        return new long[] {code, dst, src, off, imm};
    }

    /** struct bpf_insn: u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; in host (little-endian) order. */
    private static byte[] encode(List<long[]> insns) {
        var out = new ByteArrayOutputStream(insns.size() * 8);
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        for (long[] i : insns) {
            b.clear();
            b.put((byte) i[0]);
            b.put((byte) (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? (i[1] | (i[2] << 4)) : ((i[1] << 4) | i[2])));
            b.putShort((short) i[3]);
            b.putInt((int) i[4]);
            out.write(b.array(), 0, 8);
        }
        return out.toByteArray();
    }
}
