package io.berth.kernel;

/** mount(2) and umount2(2) flags, with decoders for error messages (MS_BIND|MS_REC). */
public final class MountFlags {
    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final long MS_NOEXEC = 8;
    public static final long MS_REMOUNT = 32;
    public static final long MS_NOATIME = 1024;
    public static final long MS_BIND = 4096;
    public static final long MS_MOVE = 8192;
    public static final long MS_REC = 16384;
    public static final long MS_UNBINDABLE = 1 << 17;
    public static final long MS_PRIVATE = 1 << 18;
    public static final long MS_SLAVE = 1 << 19;
    public static final long MS_SHARED = 1 << 20;
    public static final long MS_RELATIME = 1 << 21;
    public static final long MS_STRICTATIME = 1 << 24;

    public static final int MNT_FORCE = 1;
    public static final int MNT_DETACH = 2;
    public static final int MNT_EXPIRE = 4;
    public static final int UMOUNT_NOFOLLOW = 8;

    private static final long[] FLAGS = {MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_NOATIME, MS_BIND,
        MS_MOVE, MS_REC, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_RELATIME, MS_STRICTATIME};
    private static final String[] NAMES = {"MS_RDONLY", "MS_NOSUID", "MS_NODEV", "MS_NOEXEC", "MS_REMOUNT",
        "MS_NOATIME", "MS_BIND", "MS_MOVE", "MS_REC", "MS_UNBINDABLE", "MS_PRIVATE", "MS_SLAVE", "MS_SHARED",
        "MS_RELATIME", "MS_STRICTATIME"};

    private MountFlags() {
    }

    public static String describe(long flags) {
        var out = new StringBuilder();
        long rest = flags;
        for (int i = 0; i < FLAGS.length; i++) {
            if ((flags & FLAGS[i]) != 0) {
                if (!out.isEmpty()) out.append('|');
                out.append(NAMES[i]);
                rest &= ~FLAGS[i];
            }
        }
        if (rest != 0) {
            if (!out.isEmpty()) out.append('|');
            out.append("0x").append(Long.toHexString(rest));
        }
        return out.isEmpty() ? "0" : out.toString();
    }

    static String describeUmount(int flags) {
        var out = new StringBuilder();
        if ((flags & MNT_FORCE) != 0) out.append("MNT_FORCE");
        if ((flags & MNT_DETACH) != 0) out.append(out.isEmpty() ? "" : "|").append("MNT_DETACH");
        if ((flags & MNT_EXPIRE) != 0) out.append(out.isEmpty() ? "" : "|").append("MNT_EXPIRE");
        if ((flags & UMOUNT_NOFOLLOW) != 0) out.append(out.isEmpty() ? "" : "|").append("UMOUNT_NOFOLLOW");
        return out.toString();
    }
}
