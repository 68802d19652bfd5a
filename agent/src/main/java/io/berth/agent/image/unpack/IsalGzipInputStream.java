package io.berth.agent.image.unpack;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipException;

/**
 * A gzip stream (RFC 1952) decoded by ISA-L's {@code isal_inflate}, read as {@link
 * java.util.zip.GZIPInputStream} reads one, about three times as fast as zlib.
 *
 * <p>Streaming, in bounded memory: the compressed bytes pass through a 128 KiB window (a heap
 * array where the headers and trailers are parsed, mirrored into native memory for ISA-L), the
 * output through a 256 KiB native buffer; with ISA-L's own state (85 KiB) that is all, whatever
 * the size of the stream. Nothing is allocated per read. The native memory is freed at the end of
 * the stream, at a failure or at {@link #close()}, whichever comes first.
 *
 * <p>ISA-L decodes each member as raw deflate and computes its CRC-32 ({@code ISAL_GZIP_NO_HDR}),
 * unless the caller checks the output against a digest anyway; the header (FEXTRA, FNAME,
 * FCOMMENT, FHCRC checked) and the trailer (CRC-32, ISIZE) are read here, so that a failure can
 * say which check failed. As the JDK's GZIPInputStream does (JDK 23+,
 * {@code readTrailer}): concatenated members are decoded one after the other; after a member, the
 * end of the input ends the stream, and so does anything that is not a complete, valid member
 * header (trailing garbage is ignored); a valid header followed by bad or missing deflate data
 * fails. Unlike it, an I/O error of the underlying stream while the next header is read is
 * thrown, not taken for the end.
 *
 * <p>Every failure is sticky (later reads throw it again): an {@link EOFException} when the input
 * ends inside a member, a {@link ZipException} for anything corrupt.
 */
final class IsalGzipInputStream extends InputStream {
    private static final int WINDOW = 128 * 1024;
    private static final int OUT = 256 * 1024;

    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;

    private final InputStream in;
    private final byte[] window = new byte[WINDOW];
    private final CRC32 headerCrc = new CRC32();
    private final byte[] one = new byte[1];
    /** ISA-L's state and native buffers; null once released. */
    private IsalInflate isal;
    /** The unconsumed compressed bytes: window[pos, lim), the same in the native input. */
    private int pos;
    private int lim;
    /** Compressed bytes consumed before window[0], for the offsets in messages. */
    private long base;
    private boolean inputEnded;
    /** Inflated bytes not yet returned: the native output's [outPos, outLim). */
    private int outPos;
    private int outLim;
    /** The member being decoded, from 1, and the bytes it inflated to so far. */
    private int member;
    private long memberBytes;
    private boolean finished;
    private IOException failure;
    private boolean closed;
    private final boolean checkCrc;

    IsalGzipInputStream(InputStream in) throws IOException {
        this(in, true);
    }

    /**
     * @param checkCrc false when the caller checks the inflated bytes against a digest anyway (a
     *                 layer against its diff_id, a stronger check of the same thing): ISA-L then
     *                 does not compute the CRC-32 (about 4% of its time) and the trailer's is not
     *                 compared; its ISIZE still is
     */
    IsalGzipInputStream(InputStream in, boolean checkCrc) throws IOException {
        this.in = in;
        this.checkCrc = checkCrc;
        isal = new IsalInflate(WINDOW, OUT, checkCrc);
        try {
            member = 1;
            header(true);
        } catch (IOException | RuntimeException e) {
            release();
            throw e;
        }
    }

    @Override
    public int read() throws IOException {
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("gzip stream is closed");
        }
        if (failure != null) {
            throw failure;
        }
        if (len == 0) {
            return 0;
        }
        try {
            while (outPos == outLim) {
                if (finished) {
                    return -1;
                }
                inflate();
            }
        } catch (IOException e) {
            failure = e;
            release();
            throw e;
        } catch (RuntimeException e) {
            failure = new IOException(where() + ": failed earlier: " + e.getMessage(), e);
            release();
            throw e;
        }
        int k = Math.min(len, outLim - outPos);
        isal.output(outPos, b, off, k);
        outPos += k;
        if (finished && outPos == outLim) {
            release();
        }
        return k;
    }

    @Override
    public int available() {
        return outLim - outPos;
    }

    /** Frees the native memory and closes the compressed stream; idempotent. */
    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            release();
            in.close();
        }
    }

    private void release() {
        if (isal != null) {
            isal.close();
            isal = null;
        }
    }

    /**
     * One isal_inflate call into the whole output buffer; feeds it more input when it needs some,
     * and finishes the member when ISA-L reports its end.
     */
    private void inflate() throws IOException {
        int before = lim - pos;
        int rc = isal.inflate(pos, before);
        int left = isal.availIn();
        int produced = isal.produced();
        if (left < 0 || left > before || produced < 0) {
            throw new IllegalStateException("isal_inflate left avail_in " + left + " (was " + before
                    + "), avail_out " + (OUT - produced) + " (was " + OUT + "): is libisal.so.2 the ABI we expect?");
        }
        pos = lim - left;
        if (rc != IsalInflate.ISAL_DECOMP_OK) {
            // Less the whole bytes still in ISA-L's bit buffer: loaded, not yet decoded.
            long at = base + pos - Math.max(0, isal.readInLength()) / 8;
            throw new ZipException(where() + ": corrupt deflate data: " + IsalInflate.describe(rc)
                    + " at about compressed byte " + at);
        }
        outPos = 0;
        outLim = produced;
        memberBytes += produced;
        if (isal.finished()) {
            endOfMember();
        } else if (produced == 0 && (left == 0 || left == before) && !fill()) {
            // ISA-L wants more input: it took all there was, or made no progress at all. (With
            // output to give, it would have given it: avail_out was the whole buffer.)
            throw new EOFException(where() + ": gzip stream truncated: its deflate data ends at compressed byte "
                    + (base + lim));
        }
    }

    /** Checks the member's trailer, then starts the next member if a header follows. */
    private void endOfMember() throws IOException {
        // The deflate data ended inside read_in, the bits ISA-L had loaded ahead (64 at most):
        // its whole bytes are the first bytes of the trailer (the bits of the last partial byte
        // are padding). ISA-L does not put them back in raw mode; check_gzip_checksum() in
        // igzip_inflate.c reads a trailer the same way.
        int bits = isal.readInLength();
        if (bits < 0 || bits > 64) {
            throw new IllegalStateException("isal_inflate left read_in_length " + bits + " at the end of a member");
        }
        long buffered = bits == 0 ? 0 : isal.readIn() >>> (bits % 8);
        int have = bits / 8;
        long trailer = 0;
        for (int i = 0; i < 8; i++) {
            long b;
            if (i < have) {
                b = (buffered >>> (8 * i)) & 0xff;
            } else {
                int next = nextByte();
                if (next < 0) {
                    throw new EOFException(where() + ": gzip stream truncated in its trailer (" + i + " of 8 bytes)");
                }
                b = next;
            }
            trailer |= b << (8 * i);
        }
        long crc = trailer & 0xffffffffL;
        long isize = trailer >>> 32;
        if (checkCrc && crc != isal.crc()) {
            throw new ZipException(where() + ": CRC-32 mismatch: the trailer says " + String.format("%08x", crc)
                    + ", the inflated data has " + String.format("%08x", isal.crc()));
        }
        if (isize != (memberBytes & 0xffffffffL)) {
            throw new ZipException(where() + ": ISIZE mismatch: the trailer says " + isize
                    + " bytes (mod 2^32), the member inflated to " + memberBytes);
        }
        member++;
        if (!header(false)) {
            finished = true;
            return;
        }
        isal.reset();
        memberBytes = 0;
    }

    private String where() {
        return "gzip member " + member;
    }

    /**
     * Reads a member header. The first must be there and valid; for a later one, the end of the
     * input or anything else than a valid header answers false (the end of the stream).
     */
    private boolean header(boolean first) throws IOException {
        headerCrc.reset();
        int id1 = headerByte(first);
        if (id1 < 0) {
            if (first) {
                throw new EOFException("gzip stream is empty");
            }
            return false;
        }
        int id2 = headerByte(first);
        if (id2 < 0) {
            return notAHeader(first, null);
        }
        if (id1 != 0x1f || id2 != 0x8b) {
            return notAHeader(first, "not in gzip format (magic " + String.format("%02x %02x", id1, id2)
                    + ", expected 1f 8b)");
        }
        int cm = headerByte(first);
        if (cm < 0) {
            return notAHeader(first, null);
        }
        if (cm != 8) {
            return notAHeader(first, "unsupported compression method " + cm + " (only 8, deflate)");
        }
        int flg = headerByte(first);
        for (int i = 0; i < 6; i++) { // MTIME, XFL, OS
            if (headerByte(first) < 0) {
                return notAHeader(first, null);
            }
        }
        if ((flg & FEXTRA) != 0) {
            int lo = headerByte(first);
            int hi = headerByte(first);
            if (hi < 0) {
                return notAHeader(first, null);
            }
            for (int xlen = lo | hi << 8; xlen > 0; xlen--) {
                if (headerByte(first) < 0) {
                    return notAHeader(first, null);
                }
            }
        }
        for (int field : new int[] {FNAME, FCOMMENT}) {
            if ((flg & field) != 0) {
                int c;
                do {
                    c = headerByte(first);
                } while (c > 0);
                if (c < 0) {
                    return notAHeader(first, null);
                }
            }
        }
        if ((flg & FHCRC) != 0) {
            int expected = (int) headerCrc.getValue() & 0xffff;
            int lo = headerByte(first);
            int hi = headerByte(first);
            if (hi < 0) {
                return notAHeader(first, null);
            }
            int got = lo | hi << 8;
            if (got != expected) {
                return notAHeader(first, "header CRC mismatch (FHCRC " + String.format("%04x", got) + ", header has "
                        + String.format("%04x", expected) + ")");
            }
        }
        return true;
    }

    /** A header byte, counted in the header's CRC; -1 at the end of the input. */
    private int headerByte(boolean first) throws IOException {
        int b = nextByte();
        if (b >= 0) {
            headerCrc.update(b);
        }
        return b;
    }

    /** The first header is an error (null why: truncated); a later one is the end of the stream. */
    private boolean notAHeader(boolean first, String why) throws IOException {
        if (!first) {
            return false;
        }
        if (why == null) {
            throw new EOFException("gzip stream truncated in its header");
        }
        throw new ZipException(why);
    }

    /** The next compressed byte, or -1 at the end of the input. */
    private int nextByte() throws IOException {
        if (pos == lim && !fill()) {
            return -1;
        }
        return window[pos++] & 0xff;
    }

    /**
     * Reads more input after the unconsumed bytes, which move to the window's start; false at the
     * end of the input.
     */
    private boolean fill() throws IOException {
        if (inputEnded) {
            return false;
        }
        int keep = lim - pos;
        if (keep == WINDOW) {
            // ISA-L consumes whatever it is given: a full window it did not touch is a bug, not data.
            throw new IllegalStateException("isal_inflate made no progress on " + WINDOW + " bytes of input");
        }
        if (pos > 0) {
            System.arraycopy(window, pos, window, 0, keep);
            base += pos;
            pos = 0;
            lim = keep;
        }
        int n = in.read(window, lim, WINDOW - lim);
        if (n < 0) {
            inputEnded = true;
            return false;
        }
        isal.input(window, lim + n);
        lim += n;
        return true;
    }
}
