package io.berth.kernel.cgroup;

/**
 * One entry of a device allow list, in the terms of the v1 devices controller
 * (Documentation/admin-guide/cgroup-v1/devices.rst: {@code c 1:3 rwm}) and of the OCI runtime spec's
 * {@code linux.resources.devices}.
 *
 * @param type   {@code 'a'} (every device), {@code 'c'} (character) or {@code 'b'} (block)
 * @param major  the major number, or {@link #ANY}
 * @param minor  the minor number, or {@link #ANY}
 * @param access a non-empty subset of {@code "rwm"}: read, write, mknod
 */
public record DeviceRule(char type, long major, long minor, String access) {
    /** A wildcard major or minor ({@code *}). */
    public static final long ANY = -1;

    public DeviceRule {
        if (type != 'a' && type != 'c' && type != 'b') {
            throw new IllegalArgumentException("device rule type '" + type + "' is not a, c or b");
        }
        if (major < ANY || major > Integer.MAX_VALUE || minor < ANY || minor > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("device rule " + type + " " + major + ":" + minor + ": no such device number");
        }
        if (!isAccess(access)) {
            throw new IllegalArgumentException("device rule access '" + access + "' is not a subset of rwm");
        }
    }

    /** Parses the v1 syntax, {@code "c 1:3 rwm"}, {@code "c *:* m"}, {@code "b 7:* r"}. */
    public static DeviceRule parse(String rule) {
        String[] f = rule.strip().split("\\s+");
        String[] mm = f.length == 3 ? f[1].split(":", -1) : new String[0];
        if (f.length != 3 || f[0].length() != 1 || mm.length != 2) {
            throw new IllegalArgumentException("device rule '" + rule + "' is not 'TYPE MAJOR:MINOR ACCESS'");
        }
        try {
            return new DeviceRule(f[0].charAt(0), number(mm[0]), number(mm[1]), f[2]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("device rule '" + rule + "': bad device number", e);
        }
    }

    private static long number(String s) {
        return s.equals("*") ? ANY : Long.parseLong(s);
    }

    /** True for a non-empty string of r, w and m, each at most once (the CRI's Device.permissions). */
    public static boolean isAccess(String access) {
        if (access == null || access.isEmpty() || access.length() > 3) {
            return false;
        }
        for (int i = 0; i < access.length(); i++) {
            char c = access.charAt(i);
            if ("rwm".indexOf(c) < 0 || access.indexOf(c) != i) {
                return false;
            }
        }
        return true;
    }

    /** The v1 syntax, as devices.allow takes it. */
    @Override
    public String toString() {
        return type + " " + (major == ANY ? "*" : Long.toString(major)) + ":" + (minor == ANY ? "*" : Long.toString(minor))
                + " " + access;
    }
}
