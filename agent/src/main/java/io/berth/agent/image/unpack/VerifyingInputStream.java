package io.berth.agent.image.unpack;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.function.LongConsumer;

/**
 * Hashes and counts what passes through, and refuses to read past the expected size: a blob is
 * trusted only when {@link #finish()} has seen exactly {@code size} bytes hashing to the digest
 * (OCI image-spec descriptor.md: "the content SHOULD be verified against this digest").
 */
public final class VerifyingInputStream extends FilterInputStream {
    /** A blob whose bytes are not the ones its descriptor promised. */
    public static final class MismatchException extends IOException {
        public MismatchException(String message) {
            super(message);
        }
    }

    private final MessageDigest hasher;
    private final long size;
    private final LongConsumer progress;
    private long count;

    /**
     * @param hasher the digest to update with what passes through, or null when the source hashes
     *               every byte it delivers itself (then {@link #finish} returns null)
     * @param size   the expected size, or -1 when unknown (then only counted)
     */
    public VerifyingInputStream(InputStream in, MessageDigest hasher, long size, LongConsumer progress) {
        super(in);
        this.hasher = hasher;
        this.size = size;
        this.progress = progress;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int r = in.read(b, off, len);
        if (r > 0) {
            if (hasher != null) {
                hasher.update(b, off, r);
            }
            count += r;
            if (size >= 0 && count > size) {
                throw new MismatchException("more than the " + size + " bytes its descriptor says");
            }
            if (progress != null) {
                progress.accept(r);
            }
        }
        return r;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(n, 65536)];
        int r = read(buf, 0, buf.length);
        return Math.max(r, 0);
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    public long count() {
        return count;
    }

    /** Reads to the end, then returns the digest (null without a hasher); throws when the size is off. */
    public byte[] finish() throws IOException {
        byte[] buf = new byte[65536];
        while (read(buf, 0, buf.length) >= 0) {
            // drain: the digest covers every byte, including what follows the tar's end marker
        }
        if (size >= 0 && count != size) {
            throw new MismatchException(count + " bytes where its descriptor says " + size + " (truncated)");
        }
        return hasher == null ? null : hasher.digest();
    }
}
