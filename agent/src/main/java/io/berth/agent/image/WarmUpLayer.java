package io.berth.agent.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * Layers made in memory, gzip'd fast: the synthetic one of {@link ImagePuller#warmUp} and the AOT
 * training's pulls (a ustar archive of 256 KiB files of text, letters drawn at random, so it
 * compresses about as a real layer's text does), and the training's runnable busybox root
 * filesystem ({@link #busybox}).
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
        return gzip(bytes / 2, tarDigest, gz -> {
            // 64 KiB of random text, repeated: beyond deflate's 32 KiB window, so still mostly
            // literals to decode, and cheap to make in a JVM that has compiled nothing yet.
            var random = new SplittableRandom(42);
            byte[] block = new byte[64 << 10];
            for (int i = 0; i < block.length; i++) {
                block[i] = (byte) ('a' + random.nextInt(16) * random.nextInt(2));
            }
            for (int f = 0; f * FILE < bytes; f++) {
                gz.write(header("warm-up/f" + f, '0', 0644, FILE, ""));
                for (int i = 0; i < FILE; i += block.length) {
                    gz.write(block);
                }
            }
        });
    }

    /**
     * A root filesystem to run containers from: {@code busybox} (a static build) at /bin/busybox with
     * a symlink per applet, /etc, /tmp (1777) and the mount points a container needs; {@code tarDigest}
     * as in {@link #gzip(int, MessageDigest)}.
     */
    static byte[] busybox(Path busybox, List<String> applets, MessageDigest tarDigest) throws IOException {
        byte[] binary = Files.readAllBytes(busybox);
        return gzip(binary.length / 2, tarDigest, gz -> {
            for (String d : List.of("bin", "etc", "dev", "proc", "sys", "root", "var")) {
                gz.write(header(d + "/", '5', 0755, 0, ""));
            }
            gz.write(header("tmp/", '5', 01777, 0, ""));
            gz.write(header("bin/busybox", '0', 0755, binary.length, ""));
            gz.write(binary);
            gz.write(new byte[(512 - binary.length % 512) % 512]);
            for (String applet : applets) {
                gz.write(header("bin/" + applet, '2', 0777, 0, "busybox"));
            }
        });
    }

    private interface Entries {
        void write(OutputStream tar) throws IOException;
    }

    /** A tar of {@code entries}, gzip'd at the fastest level; the tar's bytes also go to {@code tarDigest} unless null. */
    private static byte[] gzip(int sizeHint, MessageDigest tarDigest, Entries entries) {
        var out = new ByteArrayOutputStream(sizeHint);
        try (var zipped = new GZIPOutputStream(out, 64 << 10) {
            {
                def.setLevel(Deflater.BEST_SPEED);
            }
        }) {
            OutputStream gz = tarDigest == null ? zipped : new DigestOutputStream(zipped, tarDigest);
            entries.write(gz);
            gz.write(new byte[1024]); // two zero blocks end the archive
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A ustar header (POSIX.1-1988) of an entry owned by root: {@code type} '0' file, '2' symlink to {@code link}, '5' directory. */
    private static byte[] header(String name, char type, int mode, long size, String link) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, String.format("%07o\0", mode));
        put(h, 108, "0000000\0");
        put(h, 116, "0000000\0");
        put(h, 124, String.format("%011o\0", size));
        put(h, 136, "00000000000\0");
        h[156] = (byte) type;
        put(h, 157, link);
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
