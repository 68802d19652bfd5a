package io.berth.kernel.seccomp;

import io.berth.kernel.seccomp.SeccompProfile.Arg;
import io.berth.kernel.seccomp.SeccompProfile.Rule;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles a {@link SeccompProfile} to classic BPF for seccomp(2) (SECCOMP_SET_MODE_FILTER) on
 * x86_64. Layout: check the architecture (AUDIT_ARCH_X86_64, else the default action, so i386
 * and x32 entry points cannot bypass the filter), refuse the x32 syscall bit, then one block per
 * syscall number: its conditional rules in order, then its unconditional rule, else the default.
 * struct seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args[6] at 16 (u64 each).
 */
public final class BpfCompiler {
    static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    static final int X32_SYSCALL_BIT = 0x40000000;

    // BPF opcodes (linux/filter.h)
    private static final int LD_W_ABS = 0x20;
    private static final int JMP_JEQ_K = 0x15;
    private static final int JMP_JGT_K = 0x25;
    private static final int JMP_JGE_K = 0x35;
    private static final int ALU_AND_K = 0x54;
    private static final int RET_K = 0x06;

    private record Insn(int code, String jt, String jf, int k) {
    }

    private final List<Insn> code = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private int nextLabel;

    private BpfCompiler() {
    }

    /** The filter as an array of struct sock_filter (8 bytes each, native order). */
    public static byte[] compile(SeccompProfile profile) {
        var c = new BpfCompiler();
        c.emit(profile);
        return c.assemble();
    }

    private String label() {
        return "L" + nextLabel++;
    }

    private void mark(String label) {
        labels.put(label, code.size());
    }

    private void add(int op, String jt, String jf, int k) {
        code.add(new Insn(op, jt, jf, k));
    }

    private void ld(int offset) {
        add(LD_W_ABS, null, null, offset);
    }

    private void ret(int value) {
        add(RET_K, null, null, value);
    }

    private static int retValue(SeccompProfile.Action a, int errno) {
        return switch (a) {
            case ERRNO, TRACE -> a.ret | (errno & 0xffff);
            default -> a.ret;
        };
    }

    private void emit(SeccompProfile p) {
        int dflt = retValue(p.defaultAction(), p.defaultErrno());
        String archOk = label();
        String nrOk = label();
        ld(4);
        add(JMP_JEQ_K, archOk, null, AUDIT_ARCH_X86_64);
        ret(dflt);
        mark(archOk);
        ld(0);
        add(JMP_JGE_K, null, nrOk, X32_SYSCALL_BIT);
        ret(dflt);
        mark(nrOk);

        // Group rules by syscall number, keeping profile order; conditional rules before the
        // unconditional one, as libseccomp gives argument-filtered rules precedence.
        var groups = new LinkedHashMap<Integer, List<Rule>>();
        for (Rule r : p.rules()) {
            int nr = SyscallTable.number(r.syscall());
            if (nr >= 0) {
                groups.computeIfAbsent(nr, k -> new ArrayList<>()).add(r);
            }
        }
        for (var g : groups.entrySet()) {
            String next = label();
            add(JMP_JEQ_K, null, next, g.getKey());
            List<Rule> rules = new ArrayList<>(g.getValue().stream().filter(r -> !r.args().isEmpty()).toList());
            Rule plain = g.getValue().stream().filter(r -> r.args().isEmpty()).findFirst().orElse(null);
            for (Rule r : rules) {
                String fail = label();
                for (Arg a : r.args()) {
                    emitArg(a, fail);
                }
                ret(retValue(r.action(), r.errno()));
                mark(fail);
                ld(0); // the argument checks overwrote the accumulator; no harm, keeps blocks independent
            }
            ret(plain != null ? retValue(plain.action(), plain.errno()) : dflt);
            mark(next);
        }
        ret(dflt);
    }

    /** Falls through when the condition holds, jumps to {@code fail} otherwise. */
    private void emitArg(Arg a, String fail) {
        if (a.index() < 0 || a.index() > 5) {
            throw new IllegalArgumentException("seccomp arg index " + a.index() + " out of range 0..5");
        }
        int lo = 16 + 8 * a.index();
        int hi = lo + 4;
        int vlo = (int) a.value();
        int vhi = (int) (a.value() >>> 32);
        String ok = label();
        switch (a.op()) {
            case EQ -> {
                ld(hi);
                add(JMP_JEQ_K, null, fail, vhi);
                ld(lo);
                add(JMP_JEQ_K, null, fail, vlo);
            }
            case NE -> {
                ld(hi);
                add(JMP_JEQ_K, null, ok, vhi);
                ld(lo);
                add(JMP_JEQ_K, fail, null, vlo);
            }
            case MASKED_EQ -> {
                int mlo = (int) a.value();
                int mhi = (int) (a.value() >>> 32);
                int wlo = (int) a.valueTwo();
                int whi = (int) (a.valueTwo() >>> 32);
                ld(hi);
                add(ALU_AND_K, null, null, mhi);
                add(JMP_JEQ_K, null, fail, whi);
                ld(lo);
                add(ALU_AND_K, null, null, mlo);
                add(JMP_JEQ_K, null, fail, wlo);
            }
            case GT, GE -> {
                ld(hi);
                add(JMP_JGT_K, ok, null, vhi);
                add(JMP_JEQ_K, null, fail, vhi);
                ld(lo);
                add(a.op() == SeccompProfile.Op.GT ? JMP_JGT_K : JMP_JGE_K, null, fail, vlo);
            }
            case LT, LE -> {
                ld(hi);
                add(JMP_JGT_K, fail, null, vhi);
                add(JMP_JEQ_K, null, ok, vhi);
                ld(lo);
                add(a.op() == SeccompProfile.Op.LT ? JMP_JGE_K : JMP_JGT_K, fail, null, vlo);
            }
        }
        mark(ok);
    }

    private byte[] assemble() {
        if (code.size() > 4096) {
            throw new IllegalArgumentException("seccomp filter too long: " + code.size() + " instructions (BPF_MAXINSNS 4096)");
        }
        ByteBuffer b = ByteBuffer.allocate(code.size() * 8).order(ByteOrder.nativeOrder());
        for (int i = 0; i < code.size(); i++) {
            Insn in = code.get(i);
            b.putShort((short) in.code());
            b.put((byte) offset(i, in.jt()));
            b.put((byte) offset(i, in.jf()));
            b.putInt(in.k());
        }
        return b.array();
    }

    private int offset(int at, String label) {
        if (label == null) {
            return 0;
        }
        int off = labels.get(label) - at - 1;
        if (off < 0 || off > 255) {
            throw new IllegalStateException("seccomp jump of " + off + " instructions cannot be encoded");
        }
        return off;
    }
}
