package io.berth.agent.util;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Ids of sandboxes and containers: 64 random hex digits, as containerd and CRI-O make them. */
public final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    public static String random() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
