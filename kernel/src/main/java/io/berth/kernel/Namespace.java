package io.berth.kernel;

/** Linux namespace kinds with their clone(2) flags and /proc/PID/ns names (namespaces(7)). */
public enum Namespace {
    MOUNT(0x00020000, "mnt"),
    UTS(0x04000000, "uts"),
    IPC(0x08000000, "ipc"),
    NET(0x40000000, "net"),
    PID(0x20000000, "pid"),
    CGROUP(0x02000000, "cgroup"),
    USER(0x10000000, "user");

    /** CLONE_FS: unshare it before setns into a mount namespace (else EINVAL) or pivot_root. */
    public static final int CLONE_FS = 0x00000200;

    public final int cloneFlag;
    public final String procName;

    Namespace(int cloneFlag, String procName) {
        this.cloneFlag = cloneFlag;
        this.procName = procName;
    }

    /** Decodes CLONE_NEW* flags for messages: {@code CLONE_NEWNS|CLONE_NEWPID}. */
    public static String describe(int flags) {
        var out = new StringBuilder();
        if ((flags & CLONE_FS) != 0) out.append("CLONE_FS");
        for (Namespace ns : values()) {
            if ((flags & ns.cloneFlag) != 0) {
                if (!out.isEmpty()) out.append('|');
                out.append(ns == MOUNT ? "CLONE_NEWNS" : "CLONE_NEW" + ns.name());
            }
        }
        return out.isEmpty() ? "0" : out.toString();
    }
}
