package io.berth.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Per-thread credentials and capabilities through raw syscalls. DESIGN.md: glibc's setresuid() and
 * friends broadcast to every thread of the process (SIGSETXID), so berth calls the kernel directly;
 * in the kernel, credentials, capabilities, securebits and no_new_privs are per-thread state that a
 * child spawned from the thread inherits.
 */
public final class Credentials {
    private static final long SYS_SETGROUPS = 116;
    private static final long SYS_SETRESUID = 117;
    private static final long SYS_SETRESGID = 119;
    private static final long SYS_CAPGET = 125;
    private static final long SYS_CAPSET = 126;

    private static final int PR_CAPBSET_DROP = 24;
    private static final int PR_SET_KEEPCAPS = 8;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int PR_CAP_AMBIENT = 47;
    private static final int PR_CAP_AMBIENT_CLEAR_ALL = 4;
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;

    /** capabilities(7) names by number, as in linux/capability.h (0..40). */
    public static final List<String> CAP_NAMES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
            "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
            "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
            "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
            "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
            "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
            "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE");


    private Credentials() {
    }

    /** Capability number for a name like {@code CAP_CHOWN} or {@code chown}; throws for unknown names. */
    public static int capNumber(String name) {
        String n = name.toUpperCase(Locale.ROOT);
        if (!n.startsWith("CAP_")) {
            n = "CAP_" + n;
        }
        int i = CAP_NAMES.indexOf(n);
        if (i < 0) {
            throw new IllegalArgumentException("unknown capability " + name);
        }
        return i;
    }

    /** The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
    public static int lastCap() {
        try {
            return Integer.parseInt(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/cap_last_cap")).strip());
        } catch (java.io.IOException e) {
            return CAP_NAMES.size() - 1;
        }
    }

    /** setgroups(2) for the calling thread only. */
    public static void setgroups(Collection<Integer> gids) {
        try (Memory m = new Memory(Math.max(4, 4L * gids.size()))) {
            int i = 0;
            for (int g : gids) {
                m.setInt(4L * i++, g);
            }
            Libc.syscall(SYS_SETGROUPS, gids.size(), Pointer.nativeValue(m), 0, 0, 0);
        } catch (LastErrorException e) {
            throw new SyscallException("setgroups", gids.toString(), e.getErrorCode());
        }
    }

    public static void setresgid(int gid) {
        try {
            Libc.syscall(SYS_SETRESGID, gid, gid, gid, 0, 0);
        } catch (LastErrorException e) {
            throw new SyscallException("setresgid", String.valueOf(gid), e.getErrorCode());
        }
    }

    public static void setresuid(int uid) {
        try {
            Libc.syscall(SYS_SETRESUID, uid, uid, uid, 0, 0);
        } catch (LastErrorException e) {
            throw new SyscallException("setresuid", String.valueOf(uid), e.getErrorCode());
        }
    }

    private static void prctl(int option, long arg2, String what) {
        try {
            Libc.prctl(option, arg2, 0, 0, 0);
        } catch (LastErrorException e) {
            throw new SyscallException("prctl", what, e.getErrorCode());
        }
    }

    /** PR_SET_KEEPCAPS: keep the permitted set across the uid change (cleared again by execve). */
    public static void keepCaps(boolean keep) {
        prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, "PR_SET_KEEPCAPS " + keep);
    }

    /** PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges (setuid bits, file caps); inherited. */
    public static void noNewPrivs() {
        prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS");
    }

    /** Drops every capability not in {@code keep} from the thread's bounding set (needs CAP_SETPCAP). */
    public static void limitBoundingSet(Set<Integer> keep) {
        int last = lastCap();
        for (int cap = 0; cap <= last; cap++) {
            if (!keep.contains(cap)) {
                String name = cap < CAP_NAMES.size() ? CAP_NAMES.get(cap) : "cap " + cap;
                prctl(PR_CAPBSET_DROP, cap, "PR_CAPBSET_DROP " + name);
            }
        }
    }

    public static void clearAmbient() {
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, "PR_CAP_AMBIENT_CLEAR_ALL");
    }

    /** capset(2) on the calling thread: effective, permitted and inheritable sets as capability numbers. */
    public static void capset(Set<Integer> effective, Set<Integer> permitted, Set<Integer> inheritable) {
        try (Memory header = new Memory(8); Memory data = new Memory(24)) {
            header.setInt(0, LINUX_CAPABILITY_VERSION_3);
            header.setInt(4, 0);
            long e = bits(effective);
            long p = bits(permitted);
            long i = bits(inheritable);
            data.setInt(0, (int) e);
            data.setInt(4, (int) p);
            data.setInt(8, (int) i);
            data.setInt(12, (int) (e >>> 32));
            data.setInt(16, (int) (p >>> 32));
            data.setInt(20, (int) (i >>> 32));
            Libc.syscall(SYS_CAPSET, Pointer.nativeValue(header), Pointer.nativeValue(data), 0, 0, 0);
        } catch (LastErrorException ex) {
            throw new SyscallException("capset", "effective " + names(effective) + " permitted " + names(permitted),
                    ex.getErrorCode());
        }
    }

    /** The calling thread's permitted set (capget(2)). */
    public static Set<Integer> permitted() {
        try (Memory header = new Memory(8); Memory data = new Memory(24)) {
            header.setInt(0, LINUX_CAPABILITY_VERSION_3);
            header.setInt(4, 0);
            Libc.syscall(SYS_CAPGET, Pointer.nativeValue(header), Pointer.nativeValue(data), 0, 0, 0);
            long p = (data.getInt(4) & 0xffffffffL) | ((long) data.getInt(16) << 32);
            var out = new java.util.TreeSet<Integer>();
            for (int c = 0; c < 64; c++) {
                if ((p & (1L << c)) != 0) out.add(c);
            }
            return out;
        } catch (LastErrorException ex) {
            throw new SyscallException("capget", "self", ex.getErrorCode());
        }
    }

    private static long bits(Set<Integer> caps) {
        long b = 0;
        for (int c : caps) {
            b |= 1L << c;
        }
        return b;
    }

    static String names(Set<Integer> caps) {
        var out = new ArrayList<String>();
        for (int c : new java.util.TreeSet<>(caps)) {
            out.add(c < CAP_NAMES.size() ? CAP_NAMES.get(c) : "cap" + c);
        }
        return out.toString();
    }

    /** All capability numbers this kernel knows: the privileged set. */
    public static Set<Integer> all() {
        var out = new java.util.TreeSet<Integer>();
        for (int c = 0; c <= lastCap(); c++) out.add(c);
        return out;
    }

    static Map<String, Integer> byName() {
        var m = new TreeMap<String, Integer>();
        for (int i = 0; i < CAP_NAMES.size(); i++) m.put(CAP_NAMES.get(i), i);
        return m;
    }
}
