package io.berth.agent.image;

import io.berth.agent.domain.BerthException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest, {@code algorithm:hex} (OCI image-spec descriptor.md, "Digests"). Only the
 * registered algorithms sha256 and sha512 are accepted, with their exact encoded lengths, so that a
 * digest is always safe to use as a file name.
 */
public record Digest(String algorithm, String hex) {
    private static final Pattern SHA256 = Pattern.compile("[a-f0-9]{64}");
    private static final Pattern SHA512 = Pattern.compile("[a-f0-9]{128}");

    public Digest {
        boolean ok = switch (algorithm) {
            case "sha256" -> SHA256.matcher(hex).matches();
            case "sha512" -> SHA512.matcher(hex).matches();
            default -> false;
        };
        if (!ok) {
            throw BerthException.invalid("'" + algorithm + ":" + hex + "' is not a valid sha256 or sha512 digest");
        }
    }

    public static Digest parse(String s) {
        if (s == null) {
            throw BerthException.invalid("missing digest");
        }
        int colon = s.indexOf(':');
        if (colon < 0) {
            throw BerthException.invalid("'" + s + "' is not a digest (algorithm:hex)");
        }
        return new Digest(s.substring(0, colon), s.substring(colon + 1));
    }

    public static boolean looksLike(String s) {
        return s != null && (s.startsWith("sha256:") && SHA256.matcher(s.substring(7)).matches()
                || s.startsWith("sha512:") && SHA512.matcher(s.substring(7)).matches());
    }

    public static Digest sha256(byte[] data) {
        return new Digest("sha256", HexFormat.of().formatHex(messageDigest("sha256").digest(data)));
    }

    public static Digest of(String algorithm, MessageDigest md) {
        return new Digest(algorithm, HexFormat.of().formatHex(md.digest()));
    }

    /** A fresh hasher for this digest's algorithm. */
    public MessageDigest newHasher() {
        return messageDigest(algorithm);
    }

    public static MessageDigest messageDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first 12 hex digits, as docker and crictl abbreviate ids. */
    public String shortHex() {
        return hex.substring(0, 12);
    }

    @Override
    public String toString() {
        return algorithm + ":" + hex;
    }
}
