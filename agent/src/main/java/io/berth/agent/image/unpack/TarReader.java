package io.berth.agent.image.unpack;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A streaming tar reader for image layers: ustar with its name prefix, GNU long names ('L', 'K'),
 * PAX extended headers ('x', 'g') including {@code SCHILY.xattr.*} and {@code LIBARCHIVE.xattr.*},
 * and base-256 numbers. Written here rather than taken from commons-compress because PAX xattr
 * values are binary (security.capability) and must not go through a UTF-8 decoder, and because
 * a layer reader needs nothing else. POSIX.1-2001 pax format (IEEE Std 1003.1, "pax" utility).
 */
public final class TarReader {
    /** Tar entry types (ustar typeflag). */
    public static final byte REGULAR = '0';
    public static final byte REGULAR_OLD = 0;
    public static final byte HARDLINK = '1';
    public static final byte SYMLINK = '2';
    public static final byte CHAR = '3';
    public static final byte BLOCK = '4';
    public static final byte DIRECTORY = '5';
    public static final byte FIFO = '6';
    public static final byte CONTIGUOUS = '7';

    /** One archive member, as the headers (merged with any PAX/GNU extension) describe it. */
    public record Entry(String name, byte type, int mode, int uid, int gid, long size, long mtimeSeconds,
            int mtimeNanos, String linkName, int devMajor, int devMinor, Map<String, byte[]> xattrs) {
        public boolean isRegular() {
            return type == REGULAR || type == REGULAR_OLD || type == CONTIGUOUS;
        }
    }

    private static final int BLOCK_SIZE = 512;
    /** PAX and GNU long-name payloads beyond this are refused: no legitimate layer comes near it. */
    private static final long MAX_EXTENSION = 1 << 20;

    private final InputStream in;
    private final byte[] header = new byte[BLOCK_SIZE];
    private final Map<String, byte[]> globalPax = new HashMap<>();
    private long remaining;
    private long padding;
    private final InputStream body = new Body();

    public TarReader(InputStream in) {
        this.in = in;
    }

    /** The next entry, or null at the end of the archive. Its content is {@link #content()}. */
    public Entry next() throws IOException {
        skipRest();
        Map<String, byte[]> pax = new LinkedHashMap<>(globalPax);
        String longName = null;
        String longLink = null;
        while (true) {
            if (!readBlock()) {
                return null;
            }
            if (isZero(header)) {
                return null; // end of archive: the second zero block and padding are drained by the caller
            }
            verifyChecksum();
            byte type = header[156];
            long size = number(124, 12);
            if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
                if (size > MAX_EXTENSION) {
                    throw new IOException("tar extension header of " + size + " bytes is too large");
                }
                byte[] data = readData(size);
                switch (type) {
                    case 'x' -> parsePax(data, pax);
                    case 'g' -> parsePax(data, globalPax);
                    case 'L' -> longName = cString(data, 0, data.length);
                    default -> longLink = cString(data, 0, data.length);
                }
                continue;
            }
            if (type == 'S') {
                throw new IOException("tar entry " + name(longName, pax) + ": GNU sparse files are not supported");
            }
            String name = name(longName, pax);
            String link = longLink != null ? longLink : cString(header, 157, 100);
            if (pax.containsKey("linkpath")) {
                link = utf8(pax.get("linkpath"));
            }
            if (pax.containsKey("size")) {
                size = Long.parseLong(utf8(pax.get("size")));
            }
            int uid = pax.containsKey("uid") ? Integer.parseInt(utf8(pax.get("uid"))) : (int) number(108, 8);
            int gid = pax.containsKey("gid") ? Integer.parseInt(utf8(pax.get("gid"))) : (int) number(116, 8);
            long mtime = number(136, 12);
            int nanos = 0;
            if (pax.containsKey("mtime")) {
                String m = utf8(pax.get("mtime"));
                int dot = m.indexOf('.');
                mtime = Long.parseLong(dot < 0 ? m : m.substring(0, dot));
                if (dot >= 0) {
                    String frac = (m.substring(dot + 1) + "000000000").substring(0, 9);
                    nanos = Integer.parseInt(frac);
                }
            }
            var xattrs = new LinkedHashMap<String, byte[]>();
            pax.forEach((k, v) -> {
                if (k.startsWith("SCHILY.xattr.")) {
                    xattrs.put(k.substring("SCHILY.xattr.".length()), v);
                } else if (k.startsWith("LIBARCHIVE.xattr.")) {
                    xattrs.put(k.substring("LIBARCHIVE.xattr.".length()), Base64.getDecoder().decode(v));
                }
            });
            // Link, device, directory and FIFO headers carry no data whatever their size field says
            // (Go's archive/tar isHeaderOnlyType; POSIX ignores size for them).
            boolean hasData = type == REGULAR || type == REGULAR_OLD || type == CONTIGUOUS;
            remaining = hasData ? size : 0;
            padding = hasData ? (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE : 0;
            return new Entry(name, type, (int) number(100, 8), uid, gid, hasData ? size : 0, mtime, nanos, link,
                    (int) number(329, 8), (int) number(337, 8), xattrs);
        }
    }

    /** The current entry's bytes; ends at the entry's end. */
    public InputStream content() {
        return body;
    }

    private String name(String longName, Map<String, byte[]> pax) {
        if (pax.containsKey("path")) {
            return utf8(pax.get("path"));
        }
        if (longName != null) {
            return longName;
        }
        String name = cString(header, 0, 100);
        boolean ustar = header[257] == 'u' && header[258] == 's' && header[259] == 't'
                && header[260] == 'a' && header[261] == 'r';
        // GNU tar writes "ustar  \0" and uses the prefix field for other things; POSIX ustar is "ustar\0".
        if (ustar && header[262] == 0) {
            String prefix = cString(header, 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
        }
        return name;
    }

    private void skipRest() throws IOException {
        long toSkip = remaining + padding;
        remaining = 0;
        padding = 0;
        skipFully(toSkip);
    }

    private void skipFully(long n) throws IOException {
        byte[] scratch = n > 0 ? new byte[(int) Math.min(n, 65536)] : null;
        while (n > 0) {
            int r = in.read(scratch, 0, (int) Math.min(n, scratch.length));
            if (r < 0) {
                throw new EOFException("tar stream ended inside an entry (truncated layer)");
            }
            n -= r;
        }
    }

    private boolean readBlock() throws IOException {
        int off = 0;
        while (off < BLOCK_SIZE) {
            int r = in.read(header, off, BLOCK_SIZE - off);
            if (r < 0) {
                if (off == 0) {
                    return false;
                }
                throw new EOFException("tar stream ended inside a header (truncated layer)");
            }
            off += r;
        }
        return true;
    }

    private byte[] readData(long size) throws IOException {
        byte[] data = new byte[(int) size];
        int off = 0;
        while (off < data.length) {
            int r = in.read(data, off, data.length - off);
            if (r < 0) {
                throw new EOFException("tar stream ended inside an extension header (truncated layer)");
            }
            off += r;
        }
        skipFully((BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE);
        return data;
    }

    private void verifyChecksum() throws IOException {
        long stored = number(148, 8);
        long sum = 0;
        for (int i = 0; i < BLOCK_SIZE; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xff);
        }
        if (sum != stored) {
            throw new IOException("tar header checksum mismatch (not a tar stream, or corrupted)");
        }
    }

    /** Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set). */
    private long number(int off, int len) throws IOException {
        if ((header[off] & 0x80) != 0) {
            long v = header[off] & 0x7f;
            for (int i = 1; i < len; i++) {
                v = (v << 8) | (header[off + i] & 0xff);
            }
            return v;
        }
        long v = 0;
        int i = off;
        int end = off + len;
        while (i < end && (header[i] == ' ' || header[i] == 0)) {
            i++;
        }
        for (; i < end && header[i] >= '0' && header[i] <= '7'; i++) {
            v = v * 8 + (header[i] - '0');
        }
        if (i < end && header[i] != 0 && header[i] != ' ') {
            throw new IOException("tar header has a bad number at offset " + off);
        }
        return v;
    }

    /** PAX records: "LEN KEY=VALUE\n", LEN counting the whole record in bytes. */
    private static void parsePax(byte[] data, Map<String, byte[]> into) throws IOException {
        int pos = 0;
        while (pos < data.length) {
            if (data[pos] == 0) {
                break;
            }
            int sp = pos;
            while (sp < data.length && data[sp] != ' ') {
                sp++;
            }
            int len;
            try {
                len = Integer.parseInt(new String(data, pos, sp - pos, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                throw new IOException("bad pax record length");
            }
            int end = pos + len;
            if (len <= 0 || end > data.length || data[end - 1] != '\n') {
                throw new IOException("bad pax record");
            }
            int eq = sp + 1;
            while (eq < end && data[eq] != '=') {
                eq++;
            }
            String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
            byte[] value = java.util.Arrays.copyOfRange(data, eq + 1, end - 1);
            if (value.length == 0) {
                into.remove(key); // an empty value deletes the keyword (pax, "keyword=")
            } else {
                into.put(key, value);
            }
            pos = end;
        }
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private final class Body extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int r = in.read(b, off, (int) Math.min(len, remaining));
            if (r < 0) {
                throw new EOFException("tar stream ended inside a file's data (truncated layer)");
            }
            remaining -= r;
            return r;
        }
    }
}
