package io.berth.agent.image.unpack;

import static io.berth.agent.image.unpack.GzipFixtures.FHCRC;
import static io.berth.agent.image.unpack.GzipFixtures.FTEXT;
import static io.berth.agent.image.unpack.GzipFixtures.compressible;
import static io.berth.agent.image.unpack.GzipFixtures.concat;
import static io.berth.agent.image.unpack.GzipFixtures.gzip;
import static io.berth.agent.image.unpack.GzipFixtures.jdk;
import static io.berth.agent.image.unpack.GzipFixtures.member;
import static io.berth.agent.image.unpack.GzipFixtures.random;
import static io.berth.agent.image.unpack.GzipFixtures.readAll;
import static io.berth.agent.image.unpack.GzipFixtures.trickle;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.Deflater;
import java.util.zip.ZipException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ISA-L decoder against the JDK's: the same bytes out for every stream GZIPInputStream reads,
 * and an IOException saying what is wrong for every stream it refuses, never short data.
 */
class IsalGzipInputStreamTest {
    /** Read sizes: single bytes, odd sizes, and sizes around the decoder's 256 KiB output buffer. */
    static final int[] READS = {1, 2, 7, 509, 4096, 65537, 262143, 262144, 262145, (1 << 20) + 3, 0};

    @BeforeAll
    static void requireIsal() {
        Gunzip g = Gunzip.select(IsalInflate.SONAME);
        if (!g.isal() && "true".equals(System.getenv("CI"))) {
            fail("ISA-L is not usable, and CI=true (.ci/run installs libisal2): " + g.description());
        }
        Assumptions.assumeTrue(g.isal(), "ISA-L is not installed (apt-get install libisal2); skipped: "
                + g.description());
    }

    static InputStream isal(byte[] gz) throws IOException {
        return new IsalGzipInputStream(new ByteArrayInputStream(gz));
    }

    static byte[] inflate(byte[] gz, int readSize) throws IOException {
        try (var in = isal(gz)) {
            return readAll(in, readSize);
        }
    }

    /** Decodes {@code gz} with every read size (single bytes only when small) and compares with the JDK. */
    static void roundTrip(byte[] data, byte[] gz) throws IOException {
        byte[] reference = jdk(gz);
        assertArrayEquals(data, reference, "the fixture itself");
        for (int size : READS) {
            if (size == 1 && data.length > (2 << 20)) {
                continue;
            }
            byte[] got = inflate(gz, size);
            assertEquals(data.length, got.length, "length with reads of " + size);
            assertArrayEquals(data, got, "content with reads of " + size);
        }
    }

    @Test
    void empty() throws IOException {
        roundTrip(new byte[0], gzip(new byte[0]));
    }

    @Test
    void small() throws IOException {
        roundTrip("hello, layer\n".getBytes(StandardCharsets.US_ASCII), gzip("hello, layer\n".getBytes(StandardCharsets.US_ASCII)));
        roundTrip(new byte[] {42}, gzip(new byte[] {42}));
    }

    @Test
    void smallAtEveryLevel() throws IOException {
        byte[] data = compressible(1, 300_000);
        for (int level = 0; level <= 9; level++) {
            roundTrip(data, gzip(data, level));
        }
        byte[] noise = random(2, 300_000);
        roundTrip(noise, gzip(noise, Deflater.BEST_SPEED));
        roundTrip(noise, gzip(noise, Deflater.NO_COMPRESSION)); // stored blocks
        roundTrip(noise, gzip(noise, Deflater.HUFFMAN_ONLY));
    }

    @Test
    void largeRandom() throws IOException {
        byte[] data = random(3, 24 << 20);
        roundTrip(data, gzip(data));
    }

    @Test
    void largeCompressible() throws IOException {
        byte[] data = compressible(4, 40 << 20);
        roundTrip(data, gzip(data, Deflater.BEST_SPEED));
    }

    /** The compressed side arriving a few bytes at a time: headers, blocks and trailers split anywhere. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 8, 9, 327, 4095, 65537})
    void compressedBytesTrickleIn(int chunk) throws IOException {
        byte[] a = compressible(5, chunk < 8 ? 60_000 : 1_500_000);
        byte[] b = random(6, chunk < 8 ? 20_000 : 300_000);
        byte[] gz = concat(member(a, 6, FHCRC | FTEXT, new byte[] {1, 2, 3}, "a.tar", "first"),
                gzip(b, Deflater.NO_COMPRESSION), gzip(new byte[0]), gzip(a, 1));
        byte[] want = concat(a, b, a);
        assertArrayEquals(want, jdk(gz));
        for (int size : new int[] {1, 4093, 0}) {
            try (var in = new IsalGzipInputStream(trickle(new ByteArrayInputStream(gz), chunk))) {
                assertArrayEquals(want, readAll(in, size), "chunks of " + chunk + ", reads of " + size);
            }
        }
    }

    @Test
    void headerWithEveryOptionalField() throws IOException {
        byte[] data = compressible(7, 100_000);
        byte[] extra = random(8, 70); // FEXTRA subfields are opaque: any bytes
        roundTrip(data, member(data, 6, FTEXT | FHCRC, extra, "layer.tar", "made by the test"));
        roundTrip(data, member(data, 6, 0, new byte[0], "", ""));
        roundTrip(data, member(data, 6, FHCRC, random(9, 65535), null, null)); // the largest FEXTRA
        roundTrip(data, member(data, 6, 0, null, "x".repeat(5000), null));
    }

    @Test
    void concatenatedMembersAreAllDecoded() throws IOException {
        byte[] a = compressible(10, 700_000);
        byte[] b = random(11, 333_333);
        roundTrip(concat(a, b, a), concat(gzip(a), gzip(b), gzip(a, 1)));
        roundTrip(concat(a, b), concat(gzip(new byte[0]), gzip(a), gzip(new byte[0]), gzip(b), gzip(new byte[0])));
        roundTrip(a, concat(gzip(a), member(new byte[0], 6, FHCRC, new byte[] {9}, "empty", "member")));
    }

    /** After a member, anything but a valid header ends the stream, as in GZIPInputStream (JDK 23+). */
    @Test
    void trailingGarbageIsIgnoredLikeTheJdk() throws IOException {
        byte[] a = compressible(12, 200_000);
        byte[][] garbage = {
            {0}, new byte[1000], "garbage after the layer".getBytes(StandardCharsets.US_ASCII),
            {0x1f}, {0x1f, (byte) 0x8b}, {0x1f, (byte) 0x8b, 8}, {0x1f, (byte) 0x8b, 7, 0, 0, 0, 0, 0, 0, 0},
            {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0}, // a header cut short
            {0x1f, (byte) 0x8b, 8, FHCRC, 0, 0, 0, 0, 0, 3, 0x12, 0x34}, // a header whose FHCRC is wrong
        };
        for (byte[] g : garbage) {
            byte[] gz = concat(gzip(a), g);
            assertArrayEquals(a, jdk(gz), "the JDK ignores it");
            for (int size : new int[] {1, 65537, 0}) {
                assertArrayEquals(a, inflate(gz, size));
            }
        }
    }

    /** A valid next header followed by nothing, or by bad deflate data, fails in both decoders. */
    @Test
    void aValidHeaderAfterAMemberStartsAMemberThatMustBeComplete() throws IOException {
        byte[] a = compressible(13, 50_000);
        byte[] header = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
        byte[] cut = concat(gzip(a), header);
        assertThrows(EOFException.class, () -> jdk(cut));
        var e = assertThrows(EOFException.class, () -> inflate(cut, 0));
        assertTrue(e.getMessage().contains("gzip member 2") && e.getMessage().contains("truncated"), e.getMessage());

        byte[] bad = concat(gzip(a), header, new byte[] {0x07, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0});
        assertThrows(ZipException.class, () -> jdk(bad));
        var z = assertThrows(ZipException.class, () -> inflate(bad, 0));
        assertTrue(z.getMessage().contains("gzip member 2: corrupt deflate data"), z.getMessage());
    }

    @Test
    void corruptCrcIsNamed() throws IOException {
        byte[] data = compressible(14, 123_456);
        byte[] gz = gzip(data);
        gz[gz.length - 8] ^= 0x01;
        assertThrows(ZipException.class, () -> jdk(gz));
        for (int size : new int[] {1, 4096, 0}) {
            var e = assertThrows(ZipException.class, () -> inflate(gz, size));
            assertTrue(e.getMessage().startsWith("gzip member 1: CRC-32 mismatch: the trailer says"), e.getMessage());
        }
    }

    /** A layer's inflated bytes are hashed for its diff_id: there, the CRC-32 is not computed, ISIZE still checked. */
    @Test
    void withoutTheCrcCheckOnlyTheCrcGoesUnchecked() throws IOException {
        byte[] data = compressible(16, 123_456);
        byte[] badCrc = concat(gzip(data), gzip(data));
        badCrc[gzip(data).length - 8] ^= 0x01;
        try (var in = new IsalGzipInputStream(new ByteArrayInputStream(badCrc), false)) {
            assertArrayEquals(concat(data, data), in.readAllBytes());
        }
        byte[] badSize = gzip(data);
        badSize[badSize.length - 1] ^= 0x40;
        try (var in = new IsalGzipInputStream(new ByteArrayInputStream(badSize), false)) {
            var e = assertThrows(ZipException.class, in::readAllBytes);
            assertTrue(e.getMessage().startsWith("gzip member 1: ISIZE mismatch"), e.getMessage());
        }
    }

    @Test
    void corruptIsizeIsNamed() throws IOException {
        byte[] data = compressible(15, 123_456);
        byte[] gz = gzip(data);
        gz[gz.length - 1] ^= 0x40;
        assertThrows(ZipException.class, () -> jdk(gz));
        var e = assertThrows(ZipException.class, () -> inflate(gz, 0));
        assertTrue(e.getMessage().startsWith("gzip member 1: ISIZE mismatch: the trailer says " + (123_456 + (0x40 << 24))
                + " bytes (mod 2^32), the member inflated to 123456"), e.getMessage());
        byte[] second = concat(gzip(data), gz);
        var e2 = assertThrows(ZipException.class, () -> inflate(second, 0));
        assertTrue(e2.getMessage().startsWith("gzip member 2: ISIZE mismatch"), e2.getMessage());
    }

    @Test
    void corruptDeflateDataIsNamed() throws IOException {
        byte[] data = compressible(16, 200_000);
        byte[] gz = gzip(data);
        gz[10] = 0x07; // BFINAL=1, BTYPE=11: a block type RFC 1951 reserves
        assertThrows(ZipException.class, () -> jdk(gz));
        var e = assertThrows(ZipException.class, () -> inflate(gz, 0));
        assertTrue(e.getMessage().startsWith("gzip member 1: corrupt deflate data: invalid deflate block "
                + "(ISAL_INVALID_BLOCK) at about compressed byte "), e.getMessage());
    }

    /** Any byte of a member flipped: an exception, never other bytes or fewer bytes without one. */
    @Test
    void everyFlippedByteFails() throws IOException {
        byte[] data = compressible(17, 20_000);
        byte[] gz = gzip(data);
        for (int i = 0; i < gz.length; i++) {
            if (i == 4 || i == 5 || i == 6 || i == 7 || i == 8 || i == 9) {
                continue; // MTIME, XFL, OS: not checked by anyone (RFC 1952 has no header CRC without FHCRC)
            }
            byte[] bad = gz.clone();
            bad[i] ^= (byte) (1 << (i % 8));
            if (i == 3) {
                bad[i] = (byte) FHCRC; // a header CRC that is not there
            }
            final int at = i;
            var e = assertThrows(IOException.class, () -> inflate(bad, 0), "flipped byte " + at);
            String m = String.valueOf(e.getMessage());
            assertTrue(m.startsWith("gzip member 1: ") || m.startsWith("not in gzip format")
                    || m.startsWith("unsupported compression method") || m.startsWith("header CRC mismatch"),
                    "byte " + at + ": " + m);
        }
    }

    /** Cut anywhere, a stream fails with a message that says so; never short data without an exception. */
    @Test
    void truncatedAnywhereFails() throws IOException {
        byte[] a = compressible(18, 30_000);
        byte[] b = random(19, 3_000);
        byte[] gz = concat(member(a, 6, FHCRC, new byte[] {1, 2}, "name", "comment"), gzip(b));
        int firstMember = member(a, 6, FHCRC, new byte[] {1, 2}, "name", "comment").length;
        for (int cut = 0; cut < gz.length; cut++) {
            if (cut >= firstMember && cut < firstMember + 10) {
                continue; // a cut inside the second member's header: the end of the stream, as in the JDK
            }
            byte[] part = java.util.Arrays.copyOf(gz, cut);
            final int at = cut;
            for (int size : new int[] {65537, 0}) {
                var e = assertThrows(EOFException.class, () -> inflate(part, size), "cut at " + at);
                assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("empty"),
                        "cut at " + at + ": " + e.getMessage());
            }
        }
        for (int cut = firstMember; cut < firstMember + 10; cut++) {
            assertArrayEquals(a, inflate(java.util.Arrays.copyOf(gz, cut), 0));
            assertArrayEquals(a, jdk(java.util.Arrays.copyOf(gz, cut)));
        }
    }

    @Test
    void truncatedLargeStreamFails() throws IOException {
        byte[] data = compressible(20, 8 << 20);
        byte[] gz = gzip(data);
        for (int cut : new int[] {gz.length / 3, gz.length / 2 + 1, gz.length - 9, gz.length - 8, gz.length - 1}) {
            var e = assertThrows(EOFException.class, () -> inflate(java.util.Arrays.copyOf(gz, cut), 0));
            assertTrue(e.getMessage().startsWith("gzip member 1: gzip stream truncated"), e.getMessage());
        }
    }

    @Test
    void badFirstHeaderIsNamed() {
        var magic = assertThrows(ZipException.class, () -> isal("PK\3\4 not gzip".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("not in gzip format (magic 50 4b, expected 1f 8b)", magic.getMessage());
        var method = assertThrows(ZipException.class, () -> isal(new byte[] {0x1f, (byte) 0x8b, 7, 0, 0, 0, 0, 0, 0, 3}));
        assertEquals("unsupported compression method 7 (only 8, deflate)", method.getMessage());
        byte[] hcrc = member(new byte[10], 6, FHCRC, null, "n", null);
        hcrc[10] ^= 1; // the name: the header CRC no longer matches
        var crc = assertThrows(ZipException.class, () -> isal(hcrc));
        assertTrue(crc.getMessage().startsWith("header CRC mismatch"), crc.getMessage());
        assertThrows(ZipException.class, () -> jdk(hcrc));
        assertEquals("gzip stream is empty", assertThrows(EOFException.class, () -> isal(new byte[0])).getMessage());
        assertEquals("gzip stream truncated in its header",
                assertThrows(EOFException.class, () -> isal(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0})).getMessage());
    }

    @Test
    void failuresAreStickyAndCloseIsIdempotent() throws IOException {
        byte[] gz = gzip(compressible(21, 10_000));
        gz[gz.length - 5] ^= 1;
        var in = isal(gz);
        var first = assertThrows(ZipException.class, () -> in.readAllBytes());
        assertSame(first, assertThrows(ZipException.class, () -> in.read()));
        in.close();
        in.close();
        assertThrows(IOException.class, () -> in.read());

        var ok = isal(gzip(new byte[] {1, 2, 3}));
        assertEquals(1, ok.read());
        ok.close();
        assertThrows(IOException.class, ok::read);
    }

    @Test
    void endOfStreamStaysTheEnd() throws IOException {
        try (var in = isal(gzip(new byte[] {5}))) {
            assertEquals(5, in.read());
            assertEquals(-1, in.read());
            assertEquals(-1, in.read(new byte[10], 0, 10));
            assertEquals(0, in.read(new byte[10], 0, 0));
            assertEquals(0, in.available());
        }
    }
}
