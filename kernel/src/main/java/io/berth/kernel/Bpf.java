package io.berth.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;

/**
 * The few bpf(2) commands berth needs: load a program, attach it to a cgroup, list, look up and
 * detach what is attached. {@code union bpf_attr} is filled by hand at the offsets of
 * include/uapi/linux/bpf.h; bytes past the fields set stay zero, as the kernel requires
 * ({@code CHECK_ATTR}). Failures name the command, its target and the errno; a program the verifier
 * refuses carries the verifier's log in the message.
 */
public final class Bpf {
    // enum bpf_cmd
    private static final int BPF_PROG_LOAD = 5;
    private static final int BPF_PROG_ATTACH = 8;
    private static final int BPF_PROG_DETACH = 9;
    private static final int BPF_PROG_GET_FD_BY_ID = 13;
    private static final int BPF_PROG_QUERY = 16;

    /** enum bpf_prog_type: a cgroup device program (Linux 4.15). */
    public static final int BPF_PROG_TYPE_CGROUP_DEVICE = 15;
    /** enum bpf_attach_type: the device hook of a cgroup. */
    public static final int BPF_CGROUP_DEVICE = 6;
    /** Attach flag: programs of this cgroup and of its ancestors all run; each may only deny more. */
    public static final int BPF_F_ALLOW_MULTI = 2;

    /** The verifier log asked for after a refused load (Linux wants at least 128 bytes). */
    private static final int LOG_SIZE = 256 * 1024;


    private Bpf() {
    }

    /** SYS_bpf: the kernel's own numbers (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h). */
    private static long sysBpf() {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> 321;
            case "aarch64", "arm64", "riscv64" -> 280;
            default -> throw new UnsupportedOperationException("bpf(2): unknown syscall number on " + System.getProperty("os.arch"));
        };
    }

    private static long call(int cmd, Memory attr) {
        return Libc.syscall(sysBpf(), cmd, Pointer.nativeValue(attr), attr.size(), 0, 0);
    }

    /**
     * BPF_PROG_LOAD of {@code instructions} (struct bpf_insn, 8 bytes each). When the verifier
     * refuses the program, it is loaded once more with a log buffer and the log is in the error.
     */
    public static Fd loadProgram(int type, int expectedAttachType, byte[] instructions, String license, String name) {
        if (instructions.length == 0 || instructions.length % 8 != 0) {
            throw new IllegalArgumentException("bpf program of " + instructions.length + " bytes: not whole instructions");
        }
        String what = "BPF_PROG_LOAD type " + type + ", " + instructions.length / 8 + " instructions, license " + license;
        try {
            return new Fd((int) load(type, expectedAttachType, instructions, license, name, null), "bpf program " + name);
        } catch (LastErrorException e) {
            String log;
            try (Memory buf = new Memory(LOG_SIZE)) {
                buf.clear();
                try {
                    // Loaded after all? Then the first failure was transient: keep this one.
                    return new Fd((int) load(type, expectedAttachType, instructions, license, name, buf), "bpf program " + name);
                } catch (LastErrorException again) {
                    log = buf.getString(0, "UTF-8").strip();
                }
            }
            throw new SyscallException("bpf", what + (log.isEmpty() ? "" : " (verifier log: " + log + ")"), e.getErrorCode());
        }
    }

    private static long load(int type, int expectedAttachType, byte[] instructions, String license, String name,
            Memory log) {
        try (Memory insns = new Memory(instructions.length); Memory lic = new Memory(license.length() + 1L);
                Memory attr = new Memory(72)) {
            insns.write(0, instructions, 0, instructions.length);
            lic.setString(0, license, StandardCharsets.US_ASCII.name());
            attr.clear();
            attr.setInt(0, type);                              // prog_type
            attr.setInt(4, instructions.length / 8);           // insn_cnt
            attr.setPointer(8, insns);                         // insns
            attr.setPointer(16, lic);                          // license
            if (log != null) {
                attr.setInt(24, 1);                            // log_level
                attr.setInt(28, (int) log.size());             // log_size
                attr.setPointer(32, log);                      // log_buf
            }
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            attr.write(48, n, 0, Math.min(n.length, 15));      // prog_name[16], NUL-terminated
            attr.setInt(68, expectedAttachType);               // expected_attach_type
            // The verifier may ask for a retry (EAGAIN), as libbpf's sys_bpf_prog_load retries; and EINTR.
            for (int attempt = 0; ; attempt++) {
                try {
                    return call(BPF_PROG_LOAD, attr);
                } catch (LastErrorException e) {
                    if ((e.getErrorCode() != Errno.EAGAIN && e.getErrorCode() != Errno.EINTR) || attempt >= 4) {
                        throw e;
                    }
                }
            }
        }
    }

    /** BPF_PROG_ATTACH of {@code program} to the cgroup directory {@code target} (an O_DIRECTORY fd). */
    public static void attach(Fd target, Fd program, int attachType, int flags) {
        try (Memory attr = new Memory(40)) {
            attr.clear();
            attr.setInt(0, target.get());                      // target_fd
            attr.setInt(4, program.get());                     // attach_bpf_fd
            attr.setInt(8, attachType);                        // attach_type
            attr.setInt(12, flags);                            // attach_flags
            call(BPF_PROG_ATTACH, attr);
        } catch (LastErrorException e) {
            throw new SyscallException("bpf", "BPF_PROG_ATTACH " + program + " to " + target + " (attach type "
                    + attachType + ", flags " + flags + ")", e.getErrorCode());
        }
    }

    /** BPF_PROG_DETACH of {@code program} from {@code target}. */
    public static void detach(Fd target, Fd program, int attachType) {
        try (Memory attr = new Memory(40)) {
            attr.clear();
            attr.setInt(0, target.get());
            attr.setInt(4, program.get());
            attr.setInt(8, attachType);
            call(BPF_PROG_DETACH, attr);
        } catch (LastErrorException e) {
            throw new SyscallException("bpf", "BPF_PROG_DETACH " + program + " from " + target + " (attach type "
                    + attachType + ")", e.getErrorCode());
        }
    }

    /** BPF_PROG_QUERY: the ids of the programs attached to {@code target} itself (not inherited ones). */
    public static int[] query(Fd target, int attachType) {
        int capacity = 64; // a cgroup holds at most 64 programs per attach type (BPF_CGROUP_MAX_PROGS)
        for (int attempt = 0; attempt < 4; attempt++) {
            try (Memory ids = new Memory(4L * capacity); Memory attr = new Memory(64)) {
                attr.clear();
                attr.setInt(0, target.get());                  // target_fd
                attr.setInt(4, attachType);                    // attach_type
                attr.setPointer(16, ids);                      // prog_ids
                attr.setInt(24, capacity);                     // prog_cnt (in: room, out: count)
                try {
                    call(BPF_PROG_QUERY, attr);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Errno.ENOSPC) {
                        capacity = attr.getInt(24);
                        continue;
                    }
                    throw new SyscallException("bpf", "BPF_PROG_QUERY " + target + " (attach type " + attachType + ")",
                            e.getErrorCode());
                }
                return ids.getIntArray(0, attr.getInt(24));
            }
        }
        throw new SyscallException("bpf", "BPF_PROG_QUERY " + target + " (programs kept being added)", Errno.ENOSPC);
    }

    /** BPF_PROG_GET_FD_BY_ID: an fd of an attached program, e.g. one that {@link #query} listed. */
    public static Fd programById(int id) {
        try (Memory attr = new Memory(16)) {
            attr.clear();
            attr.setInt(0, id);                                // prog_id
            return new Fd((int) call(BPF_PROG_GET_FD_BY_ID, attr), "bpf program id " + id);
        } catch (LastErrorException e) {
            throw new SyscallException("bpf", "BPF_PROG_GET_FD_BY_ID " + id, e.getErrorCode());
        }
    }
}
