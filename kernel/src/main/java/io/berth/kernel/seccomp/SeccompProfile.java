package io.berth.kernel.seccomp;

import java.util.List;

/**
 * A seccomp filter in the shape of the OCI runtime spec's {@code linux.seccomp}
 * (config-linux.md#seccomp), already resolved for one container: rules whose includes/excludes
 * (capabilities, architectures, kernel version) did not match are left out.
 */
public record SeccompProfile(Action defaultAction, int defaultErrno, List<Rule> rules) {
    public enum Action {
        ALLOW(0x7fff0000), ERRNO(0x00050000), KILL_THREAD(0), KILL_PROCESS(0x80000000), TRAP(0x00030000),
        LOG(0x7ffc0000), TRACE(0x7ff00000);

        final int ret;

        Action(int ret) {
            this.ret = ret;
        }

        /** SCMP_ACT_* names of the OCI spec. */
        public static Action parse(String name) {
            return switch (name) {
                case "SCMP_ACT_ALLOW" -> ALLOW;
                case "SCMP_ACT_ERRNO" -> ERRNO;
                case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD" -> KILL_THREAD;
                case "SCMP_ACT_KILL_PROCESS" -> KILL_PROCESS;
                case "SCMP_ACT_TRAP" -> TRAP;
                case "SCMP_ACT_LOG" -> LOG;
                case "SCMP_ACT_TRACE" -> TRACE;
                default -> throw new IllegalArgumentException("unsupported seccomp action " + name);
            };
        }
    }

    public enum Op {
        EQ, NE, LT, LE, GT, GE, MASKED_EQ;

        public static Op parse(String name) {
            return valueOf(name.substring("SCMP_CMP_".length()));
        }
    }

    /** {@code args[index] OP value} ({@code (args[index] & value) == valueTwo} for MASKED_EQ). */
    public record Arg(int index, long value, long valueTwo, Op op) {
    }

    /** Conditions are ANDed; several rules for one syscall are alternatives (first match wins). */
    public record Rule(String syscall, Action action, int errno, List<Arg> args) {
        public Rule(String syscall, Action action) {
            this(syscall, action, 1, List.of());
        }
    }
}
