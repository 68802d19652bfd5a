package io.berth.agent.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.SplittableRandom;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * A synthetic layer for {@link ImagePuller#warmUp}: a ustar archive of 256 KiB files of text
 * (letters drawn at random, so it compresses about as a real layer's text does), gzip'd fast.
 */
final class WarmUpLayer {
    private static final int FILE = 256 << 10;

    private WarmUpLayer() {
    }

    static byte[] gzip(int bytes) {
        return gzip(bytes, null);
    }

    /** As {@link #gzip(int)}, with {@code tarDigest} (null: none) updated with the tar as it is written. */
    static byte[] gzip(int bytes, MessageDigest tarDigest) {
        var out = new ByteArrayOutputStream(bytes / 2);
        try (var zipped = new GZIPOutputStream(out, 64 << 10) {
            {
                def.setLevel(Deflater.BEST_SPEED);
            }
        }) {
            OutputStream gz = tarDigest == null ? zipped : new DigestOutputStream(zipped, tarDigest);
            // 64 KiB of random text, repeated: beyond deflate's 32 KiB window, so still mostly
            // literals to decode, and cheap to make in a JVM that has compiled nothing yet.
            var random = new SplittableRandom(42);
            byte[] block = new byte[64 << 10];
            for (int i = 0; i < block.length; i++) {
                block[i] = (byte) ('a' + random.nextInt(16) * random.nextInt(2));
            }
            for (int f = 0; f * FILE < bytes; f++) {
                gz.write(header("warm-up/f" + f, FILE));
                for (int i = 0; i < FILE; i += block.length) {
                    gz.write(block);
                }
            }
            gz.write(new byte[1024]); // two zero blocks end the archive
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A ustar header of a regular file owned by root, mode 0644 (POSIX.1-1988). */
    private static byte[] header(String name, long size) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644\0");
        put(h, 108, "0000000\0");
        put(h, 116, "0000000\0");
        put(h, 124, String.format("%011o\0", size));
        put(h, 136, "00000000000\0");
        h[156] = '0';
        put(h, 257, "ustar\0");
        put(h, 263, "00");
        java.util.Arrays.fill(h, 148, 156, (byte) ' ');
        int sum = 0;
        for (byte b : h) sum += b & 0xff;
        put(h, 148, String.format("%06o\0 ", sum));
        return h;
    }

    private static void put(byte[] h, int at, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, at, b.length);
    }
}
