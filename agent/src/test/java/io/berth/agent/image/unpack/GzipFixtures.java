package io.berth.agent.image.unpack;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;

/** gzip streams made by the JDK (or by hand, for the header fields it never writes), and readers. */
final class GzipFixtures {
    static final int FTEXT = 1;
    static final int FHCRC = 2;
    static final int FEXTRA = 4;
    static final int FNAME = 8;
    static final int FCOMMENT = 16;

    private GzipFixtures() {
    }

    static byte[] random(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Text-like bytes (words, lines, repeats) that compress about 4:1, as layers of binaries and text do. */
    static byte[] compressible(long seed, int size) {
        var r = new Random(seed);
        String[] words = new String[512];
        for (int i = 0; i < words.length; i++) {
            var w = new StringBuilder();
            for (int j = 2 + r.nextInt(9); j > 0; j--) {
                w.append((char) ('a' + r.nextInt(26)));
            }
            words[i] = w.toString();
        }
        var out = new ByteArrayOutputStream(size + 64);
        while (out.size() < size) {
            String w = words[(int) Math.abs(r.nextGaussian() * 60) % words.length];
            out.writeBytes(w.getBytes(StandardCharsets.US_ASCII));
            out.write(r.nextInt(12) == 0 ? '\n' : ' ');
            if (r.nextInt(5000) == 0) {
                out.writeBytes(new byte[r.nextInt(4096)]); // runs of zeros, as in binaries
            }
        }
        byte[] b = out.toByteArray();
        return java.util.Arrays.copyOf(b, size);
    }

    /** Raw deflate (RFC 1951) of {@code data} at {@code level}. */
    static byte[] deflate(byte[] data, int level) {
        var d = new Deflater(level, true);
        try {
            d.setInput(data);
            d.finish();
            var out = new ByteArrayOutputStream(data.length / 2 + 64);
            byte[] buf = new byte[64 * 1024];
            while (!d.finished()) {
                out.write(buf, 0, d.deflate(buf));
            }
            return out.toByteArray();
        } finally {
            d.end();
        }
    }

    /** One gzip member as GZIPOutputStream writes it (no optional fields), at {@code level}. */
    static byte[] gzip(byte[] data, int level) {
        return member(data, level, 0, null, null, null);
    }

    static byte[] gzip(byte[] data) {
        return gzip(data, Deflater.DEFAULT_COMPRESSION);
    }

    /**
     * One member with the optional header fields given (null: absent); FHCRC when {@code flags}
     * has it. RFC 1952 section 2.3.
     */
    static byte[] member(byte[] data, int level, int flags, byte[] extra, String name, String comment) {
        var h = new ByteArrayOutputStream();
        int flg = flags | (extra != null ? FEXTRA : 0) | (name != null ? FNAME : 0) | (comment != null ? FCOMMENT : 0);
        h.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, (byte) flg, 0x78, 0x56, 0x34, 0x12, 0, 3});
        if (extra != null) {
            h.write(extra.length & 0xff);
            h.write(extra.length >>> 8);
            h.writeBytes(extra);
        }
        if (name != null) {
            h.writeBytes(name.getBytes(StandardCharsets.ISO_8859_1));
            h.write(0);
        }
        if (comment != null) {
            h.writeBytes(comment.getBytes(StandardCharsets.ISO_8859_1));
            h.write(0);
        }
        if ((flg & FHCRC) != 0) {
            var crc = new CRC32();
            crc.update(h.toByteArray());
            h.write((int) crc.getValue() & 0xff);
            h.write((int) (crc.getValue() >>> 8) & 0xff);
        }
        h.writeBytes(deflate(data, level));
        var crc = new CRC32();
        crc.update(data);
        writeInt(h, (int) crc.getValue());
        writeInt(h, data.length);
        return h.toByteArray();
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        for (int i = 0; i < 4; i++) {
            out.write(v >>> (8 * i));
        }
    }

    static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** What the JDK's GZIPInputStream makes of {@code gz}: the reference. */
    static byte[] jdk(byte[] gz) throws IOException {
        try (var in = new GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }

    /** Reads all of {@code in}, {@code size} bytes per read (0: readAllBytes). */
    static byte[] readAll(InputStream in, int size) throws IOException {
        if (size == 0) {
            return in.readAllBytes();
        }
        var out = new ByteArrayOutputStream();
        if (size == 1) {
            for (int b; (b = in.read()) >= 0; ) {
                out.write(b);
            }
            return out.toByteArray();
        }
        byte[] buf = new byte[size + 3];
        for (int r; (r = in.read(buf, 3, size)) >= 0; ) {
            if (r == 0) {
                throw new AssertionError("read(" + size + ") returned 0");
            }
            out.write(buf, 3, r);
        }
        return out.toByteArray();
    }

    /** A stream that hands out at most {@code chunk} bytes per read, as a slow network does. */
    static InputStream trickle(InputStream in, int chunk) {
        return new FilterInputStream(in) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return super.read(b, off, Math.min(len, chunk));
            }
        };
    }
}
