package io.berth.kernel.seccomp;

import io.berth.kernel.seccomp.SeccompProfile.Arg;
import io.berth.kernel.seccomp.SeccompProfile.Rule;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

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

    /** No jump target (a jt or jf of 0: fall through). */
    private static final int NONE = -1;

    /** An instruction; {@code jt} and {@code jf} are label numbers (or {@link #NONE}) until assembled. */
    private record Insn(int code, int jt, int jf, int k) {
    }

    // Plain ints and loops throughout: a shim compiles its filter with nothing JIT-compiled yet,
    // where string labels, a map of them and stream pipelines per syscall cost the interpreter ~20 ms.
    private final List<Insn> code = new ArrayList<>();
    private int[] labels = new int[64];
    private int nextLabel;

    private BpfCompiler() {
    }

    /** The filter as an array of struct sock_filter (8 bytes each, native order). */
    public static byte[] compile(SeccompProfile profile) {
        var c = new BpfCompiler();
        c.emit(profile);
        return c.assemble();
    }

    private int label() {
        if (nextLabel == labels.length) {
            labels = java.util.Arrays.copyOf(labels, labels.length * 2);
        }
        return nextLabel++;
    }

    private void mark(int label) {
        labels[label] = code.size();
    }

    private void add(int op, int jt, int jf, int k) {
        code.add(new Insn(op, jt, jf, k));
    }

    private void ld(int offset) {
        add(LD_W_ABS, NONE, NONE, offset);
    }

    private void ret(int value) {
        add(RET_K, NONE, NONE, value);
    }

    private static int retValue(SeccompProfile.Action a, int errno) {
        return switch (a) {
            case ERRNO, TRACE -> a.ret | (errno & 0xffff);
            default -> a.ret;
        };
    }

    private void emit(SeccompProfile p) {
        int dflt = retValue(p.defaultAction(), p.defaultErrno());
        int archOk = label();
        int nrOk = label();
        ld(4);
        add(JMP_JEQ_K, archOk, NONE, AUDIT_ARCH_X86_64);
        ret(dflt);
        mark(archOk);
        ld(0);
        add(JMP_JGE_K, NONE, nrOk, X32_SYSCALL_BIT);
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
            int next = label();
            add(JMP_JEQ_K, NONE, next, g.getKey());
            Rule plain = null;
            for (Rule r : g.getValue()) {
                if (r.args().isEmpty()) {
                    if (plain == null) {
                        plain = r;
                    }
                    continue;
                }
                int fail = label();
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
    private void emitArg(Arg a, int fail) {
        if (a.index() < 0 || a.index() > 5) {
            throw new IllegalArgumentException("seccomp arg index " + a.index() + " out of range 0..5");
        }
        int lo = 16 + 8 * a.index();
        int hi = lo + 4;
        int vlo = (int) a.value();
        int vhi = (int) (a.value() >>> 32);
        int ok = label();
        switch (a.op()) {
            case EQ -> {
                ld(hi);
                add(JMP_JEQ_K, NONE, fail, vhi);
                ld(lo);
                add(JMP_JEQ_K, NONE, fail, vlo);
            }
            case NE -> {
                ld(hi);
                add(JMP_JEQ_K, NONE, ok, vhi);
                ld(lo);
                add(JMP_JEQ_K, fail, NONE, vlo);
            }
            case MASKED_EQ -> {
                int mlo = (int) a.value();
                int mhi = (int) (a.value() >>> 32);
                int wlo = (int) a.valueTwo();
                int whi = (int) (a.valueTwo() >>> 32);
                ld(hi);
                add(ALU_AND_K, NONE, NONE, mhi);
                add(JMP_JEQ_K, NONE, fail, whi);
                ld(lo);
                add(ALU_AND_K, NONE, NONE, mlo);
                add(JMP_JEQ_K, NONE, fail, wlo);
            }
            case GT, GE -> {
                ld(hi);
                add(JMP_JGT_K, ok, NONE, vhi);
                add(JMP_JEQ_K, NONE, fail, vhi);
                ld(lo);
                add(a.op() == SeccompProfile.Op.GT ? JMP_JGT_K : JMP_JGE_K, NONE, fail, vlo);
            }
            case LT, LE -> {
                ld(hi);
                add(JMP_JGT_K, fail, NONE, vhi);
                add(JMP_JEQ_K, NONE, ok, vhi);
                ld(lo);
                add(a.op() == SeccompProfile.Op.LT ? JMP_JGE_K : JMP_JGT_K, fail, NONE, vlo);
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

    private int offset(int at, int label) {
        if (label == NONE) {
            return 0;
        }
        int off = labels[label] - at - 1;
        if (off < 0 || off > 255) {
            throw new IllegalStateException("seccomp jump of " + off + " instructions cannot be encoded");
        }
        return off;
    }
}
