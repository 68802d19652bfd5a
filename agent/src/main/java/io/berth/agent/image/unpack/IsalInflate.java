package io.berth.agent.image.unpack;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The binding to ISA-L's streaming inflate ({@code isal_inflate_init}, {@code isal_inflate_reset},
 * {@code isal_inflate}; include/igzip_lib.h), the only JNA in the agent's image code: one instance
 * is one {@code struct inflate_state} with its native input and output buffers, all freed by
 * {@link #close()}. Bound with JNA direct mapping (static native methods, no proxy): a layer makes
 * one call per 256 KiB of output, and each call must cost little more than the C call itself;
 * the fields are read and written at their offsets, with no allocation per call.
 *
 * <p>The caller allocates {@code struct inflate_state} (ISA-L never does), so its size and the
 * offsets of the fields we touch are part of the library's ABI, fixed for soname 2. They are
 * copied here from the 2.30 header (x86_64 and aarch64 lay it out alike: LP64, natural
 * alignment); {@code IsalInflateLayoutTest} compiles a C program against the installed header and
 * checks every one of them. {@link Gunzip} also decodes a small member through the library before
 * it trusts it, so a layout that went wrong anyway falls back to zlib instead of corrupting layers.
 */
final class IsalInflate implements AutoCloseable {
    /** The library's soname: ISA-L 2.x (Debian/Ubuntu package libisal2). */
    static final String SONAME = "libisal.so.2";

    // struct inflate_state (igzip_lib.h, ISA-L 2.30), the fields we read or write.
    static final long SIZEOF_STATE = 87368;
    static final long OFF_NEXT_OUT = 0; // uint8_t *
    static final long OFF_AVAIL_OUT = 8; // uint32_t
    static final long OFF_NEXT_IN = 16; // uint8_t *
    static final long OFF_READ_IN = 24; // uint64_t: bits buffered from the input, lowest first
    static final long OFF_AVAIL_IN = 32; // uint32_t
    static final long OFF_READ_IN_LENGTH = 36; // int32_t: how many bits of read_in are valid
    static final long OFF_BLOCK_STATE = 21160; // enum isal_block_state (4 bytes)
    static final long OFF_CRC_FLAG = 21172; // uint32_t
    static final long OFF_CRC = 21176; // uint32_t: the gzip CRC-32 of the output so far

    // enum isal_block_state
    static final int ISAL_BLOCK_FINISH = 5;
    // crc_flag: raw deflate whose output ISA-L checksums with the gzip CRC-32; we parse the
    // header and the trailer ourselves, so that each failure can say what is wrong. Or raw
    // deflate without a checksum, when the output is checked by its digest instead.
    static final int ISAL_DEFLATE = 0;
    static final int ISAL_GZIP_NO_HDR = 2;
    // isal_inflate's return values
    static final int ISAL_DECOMP_OK = 0;
    static final int ISAL_INVALID_BLOCK = -1;
    static final int ISAL_INVALID_SYMBOL = -2;
    static final int ISAL_INVALID_LOOKBACK = -3;

    /** Zeroed bytes past the input's end: ISA-L reads none of them, this is only a margin. */
    private static final int PAD = 64;

    private static String bound;

    private final int outCapacity;
    private Memory state;
    private Memory in;
    private Memory out;
    private final long inAddr;
    private final long outAddr;

    /**
     * A stream of raw deflate data whose output ISA-L checksums with the gzip CRC-32
     * ({@code ISAL_GZIP_NO_HDR}) when {@code crc}, else not ({@code ISAL_DEFLATE}); {@link #load}
     * must have succeeded.
     */
    IsalInflate(int inCapacity, int outCapacity, boolean crc) {
        this.outCapacity = outCapacity;
        state = new Memory(SIZEOF_STATE);
        in = new Memory(inCapacity + PAD);
        out = new Memory(outCapacity);
        in.clear();
        inAddr = Pointer.nativeValue(in);
        outAddr = Pointer.nativeValue(out);
        Raw.isal_inflate_init(state);
        state.setInt(OFF_CRC_FLAG, crc ? ISAL_GZIP_NO_HDR : ISAL_DEFLATE);
    }

    /** isal_inflate_reset: ready for the next member's deflate data; keeps crc_flag. */
    void reset() {
        Raw.isal_inflate_reset(state);
    }

    /** Copies {@code src[0, len)} to the native input buffer's start. */
    void input(byte[] src, int len) {
        in.write(0, src, 0, len);
    }

    /**
     * One isal_inflate call on the native input's {@code [pos, pos + len)} into the whole output
     * buffer; returns its result ({@link #ISAL_DECOMP_OK} or an error code).
     */
    int inflate(int pos, int len) {
        state.setLong(OFF_NEXT_IN, inAddr + pos);
        state.setInt(OFF_AVAIL_IN, len);
        state.setLong(OFF_NEXT_OUT, outAddr);
        state.setInt(OFF_AVAIL_OUT, outCapacity);
        return Raw.isal_inflate(state);
    }

    /** Input bytes the last {@link #inflate} left unread. */
    int availIn() {
        return state.getInt(OFF_AVAIL_IN);
    }

    /** Output bytes the last {@link #inflate} wrote, from the output buffer's start. */
    int produced() {
        return outCapacity - state.getInt(OFF_AVAIL_OUT);
    }

    /** Copies {@code len} output bytes from {@code pos} into {@code dst}. */
    void output(int pos, byte[] dst, int off, int len) {
        out.read(pos, dst, off, len);
    }

    /** The end of the deflate data has been reached and all its output delivered. */
    boolean finished() {
        return state.getInt(OFF_BLOCK_STATE) == ISAL_BLOCK_FINISH;
    }

    /** The CRC-32 of the output so far, as an unsigned value. */
    long crc() {
        return state.getInt(OFF_CRC) & 0xffffffffL;
    }

    /** The input bits ISA-L has loaded but not decoded (read_in), lowest first. */
    long readIn() {
        return state.getLong(OFF_READ_IN);
    }

    /** How many bits of {@link #readIn()} are valid. */
    int readInLength() {
        return state.getInt(OFF_READ_IN_LENGTH);
    }

    /** Frees the state and the buffers; idempotent. */
    @Override
    public void close() {
        if (state != null) {
            state.close();
            in.close();
            out.close();
            state = null;
            in = null;
            out = null;
        }
    }

    /** Direct mappings; bound once per process by {@link #load}. */
    static final class Raw {
        private Raw() {
        }

        static native void isal_inflate_init(Pointer state);

        static native void isal_inflate_reset(Pointer state);

        static native int isal_inflate(Pointer state);
    }

    /**
     * Opens {@code library} (an soname dlopen(3) finds, or a path) and binds {@link Raw} to it.
     * Binding happens once per process: a later call with another library fails.
     *
     * @throws UnsatisfiedLinkError when the library or one of its symbols is missing
     */
    static synchronized void load(String library) {
        if (Native.POINTER_SIZE != 8) {
            throw new UnsatisfiedLinkError("the inflate_state layout here is for 64-bit processes");
        }
        if (bound != null) {
            if (!bound.equals(library)) {
                throw new UnsatisfiedLinkError("ISA-L is already bound to " + bound + ", not " + library);
            }
            return;
        }
        NativeLibrary lib = io.berth.kernel.Jna.library(library);
        for (String symbol : new String[] {"isal_inflate_init", "isal_inflate_reset", "isal_inflate"}) {
            lib.getFunction(symbol); // throws UnsatisfiedLinkError naming the symbol
        }
        Native.register(Raw.class, lib);
        bound = library;
    }

    /** What an isal_inflate error code means. */
    static String describe(int rc) {
        return switch (rc) {
            case ISAL_INVALID_BLOCK -> "invalid deflate block (ISAL_INVALID_BLOCK)";
            case ISAL_INVALID_SYMBOL -> "invalid deflate symbol (ISAL_INVALID_SYMBOL)";
            case ISAL_INVALID_LOOKBACK -> "back-reference before the start of the data (ISAL_INVALID_LOOKBACK)";
            default -> "isal_inflate error " + rc;
        };
    }
}
