package io.berth.agent.image.unpack;

import com.github.luben.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Opens a layer blob as a tar stream, recognising the compression from its first bytes (gzip
 * 1f 8b, zstd 28 b5 2f fd; anything else is taken as an uncompressed tar), as containerd's
 * compression.DecompressStream does: media types in the wild are not always truthful. gzip is
 * decoded by {@link Gunzip#system()}: ISA-L when it is installed, zlib otherwise.
 */
public final class Decompress {
    public enum Format { GZIP, ZSTD, NONE }

    private Decompress() {
    }

    public static Format sniff(BufferedInputStream in) throws IOException {
        in.mark(4);
        byte[] head = in.readNBytes(4);
        in.reset();
        if (head.length >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            return Format.GZIP;
        }
        if (head.length == 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            return Format.ZSTD;
        }
        return Format.NONE;
    }

    public static InputStream open(BufferedInputStream in) throws IOException {
        return open(in, Gunzip.system(), false);
    }

    /**
     * A layer blob's tar stream, whose bytes the caller hashes for the layer's diff_id: a check
     * that makes gzip's CRC-32 redundant (see {@link Gunzip#open(InputStream, boolean)}).
     */
    public static InputStream openDigested(BufferedInputStream in) throws IOException {
        return open(in, Gunzip.system(), true);
    }

    /** {@link #open(BufferedInputStream)} with this gzip decoder. */
    public static InputStream open(BufferedInputStream in, Gunzip gunzip) throws IOException {
        return open(in, gunzip, false);
    }

    private static InputStream open(BufferedInputStream in, Gunzip gunzip, boolean digested) throws IOException {
        return switch (sniff(in)) {
            case GZIP -> gunzip.open(in, digested);
            case ZSTD -> new BufferedInputStream(new ZstdInputStream(in), 128 * 1024);
            case NONE -> in;
        };
    }
}
