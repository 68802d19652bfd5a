package io.berth.agent.image.unpack;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The gzip decoder of layer blobs: ISA-L's igzip when its library loads (Debian/Ubuntu package
 * libisal2), the JDK's zlib otherwise. containerd does the same with pigz ("unpigz" when it is on
 * the PATH, Go's gzip otherwise). On a ~5 MB layer of 10 MB, igzip inflates in about 20 ms where
 * zlib takes 60-70 ms, and decompression is what a cold pull mostly waits for.
 *
 * <p>The choice is made once per process ({@link #system()}) and logged at agent start.
 */
public final class Gunzip {
    /** Loads and binds ISA-L, or throws (UnsatisfiedLinkError when it is not there). */
    @FunctionalInterface
    interface Loader {
        void load();
    }

    private static final int JDK_BUFFER = 64 * 1024;

    private final boolean isal;
    private final String description;

    private Gunzip(boolean isal, String description) {
        this.isal = isal;
        this.description = description;
    }

    private static final class Holder {
        static final Gunzip CHOICE = select(IsalInflate.SONAME);
    }

    /** The process's choice: ISA-L from libisal.so.2 when it loads and works, else zlib. */
    public static Gunzip system() {
        return Holder.CHOICE;
    }

    /** ISA-L from {@code library} (an soname or a path) when it loads and works, else zlib. */
    static Gunzip select(String library) {
        return select(library, () -> IsalInflate.load(library));
    }

    static Gunzip select(String library, Loader loader) {
        try {
            loader.load();
            selfTest();
            return new Gunzip(true, "isa-l (" + library + ")");
        } catch (UnsatisfiedLinkError | IOException | RuntimeException e) {
            return new Gunzip(false, "zlib (java.util.zip; " + library + " not used: " + e.getMessage() + ")");
        }
    }

    /** The JDK's decoder, whatever is installed. */
    static Gunzip jdk() {
        return new Gunzip(false, "zlib (java.util.zip)");
    }

    /** True when ISA-L decodes. */
    public boolean isal() {
        return isal;
    }

    /** Which decoder this is, and why when it is not ISA-L; for the agent's start-up log. */
    public String description() {
        return description;
    }

    /** The decompressed stream over {@code compressed}, which starts with a gzip header. */
    public InputStream open(InputStream compressed) throws IOException {
        return open(compressed, false);
    }

    /**
     * As {@link #open(InputStream)}; {@code digested}: the caller checks the decompressed bytes
     * against a digest (a layer's diff_id), so ISA-L need not compute the gzip CRC-32 that check
     * makes redundant. zlib checks it regardless.
     */
    public InputStream open(InputStream compressed, boolean digested) throws IOException {
        return isal ? new IsalGzipInputStream(compressed, !digested) : new GZIPInputStream(compressed, JDK_BUFFER);
    }

    /**
     * Decodes a small two-member stream made by the JDK and compares: a library whose ABI is not
     * the one {@link IsalInflate} was written for is refused here, not discovered in a layer.
     */
    private static void selfTest() throws IOException {
        byte[] text = "berth: a layer must inflate to exactly these bytes. ".repeat(200)
                .getBytes(StandardCharsets.US_ASCII);
        var member = new ByteArrayOutputStream();
        try (var out = new GZIPOutputStream(member)) {
            out.write(text);
        }
        var gz = new ByteArrayOutputStream();
        member.writeTo(gz);
        member.writeTo(gz);
        byte[] got;
        try (InputStream in = new IsalGzipInputStream(new ByteArrayInputStream(gz.toByteArray()))) {
            got = in.readAllBytes();
        }
        byte[] want = Arrays.copyOf(text, 2 * text.length);
        System.arraycopy(text, 0, want, text.length, text.length);
        if (!Arrays.equals(got, want)) {
            throw new IOException("its self-test inflated " + got.length + " bytes that are not the "
                    + want.length + " expected");
        }
    }
}
