package io.berth.kernel.netlink;

import io.berth.kernel.Errno;
import java.util.Map;

/**
 * errno values that rtnetlink answers with and that {@link Errno} does not name (asm-generic/errno.h),
 * so a failed request reads {@code RTM_DELLINK bth1a2b3c4d5e: ENODEV (No such device)}.
 */
public final class NetlinkErrno {
    public static final int ENXIO = 6;
    public static final int ENODEV = 19;
    public static final int ERANGE = 34;
    public static final int EMSGSIZE = 90;
    public static final int EPROTONOSUPPORT = 93;
    public static final int EAFNOSUPPORT = 97;
    public static final int ENETDOWN = 100;
    public static final int ENOBUFS = 105;
    public static final int ESRCH = Errno.ESRCH;

    private static final Map<Integer, String> NAMES = Map.of(ENXIO, "ENXIO", ENODEV, "ENODEV", ERANGE, "ERANGE",
            EMSGSIZE, "EMSGSIZE", EPROTONOSUPPORT, "EPROTONOSUPPORT", EAFNOSUPPORT, "EAFNOSUPPORT",
            ENETDOWN, "ENETDOWN", ENOBUFS, "ENOBUFS");

    private NetlinkErrno() {
    }

    public static String name(int errno) {
        String n = NAMES.get(errno);
        return n != null ? n : Errno.name(errno);
    }
}
