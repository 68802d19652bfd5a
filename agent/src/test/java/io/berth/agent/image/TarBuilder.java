package io.berth.agent.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Writes tar archives byte by byte (ustar + pax), so tests can craft any entry, hostile ones too. */
public final class TarBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public TarBuilder dir(String name, int mode) {
        return entry(name, '5', mode, 0, 0, new byte[0], "", Map.of());
    }

    public TarBuilder file(String name, String content) {
        return file(name, 0644, 0, 0, content.getBytes(StandardCharsets.UTF_8));
    }

    public TarBuilder file(String name, int mode, int uid, int gid, byte[] content) {
        return entry(name, '0', mode, uid, gid, content, "", Map.of());
    }

    public TarBuilder symlink(String name, String target) {
        return entry(name, '2', 0777, 0, 0, new byte[0], target, Map.of());
    }

    public TarBuilder hardlink(String name, String target) {
        return entry(name, '1', 0644, 0, 0, new byte[0], target, Map.of());
    }

    public TarBuilder chardev(String name, int major, int minor) {
        byte[] h = header(name, '3', 0666, 0, 0, 0, "");
        octal(h, 329, 8, major);
        octal(h, 337, 8, minor);
        checksum(h);
        out.writeBytes(h);
        return this;
    }

    public TarBuilder fileWithXattr(String name, String content, String xattr, byte[] value) {
        return entry(name, '0', 0644, 0, 0, content.getBytes(StandardCharsets.UTF_8), "",
                Map.of("SCHILY.xattr." + xattr, value));
    }

    public TarBuilder entry(String name, char type, int mode, int uid, int gid, byte[] content, String link,
            Map<String, byte[]> pax) {
        var records = new LinkedHashMap<String, byte[]>(pax);
        if (name.getBytes(StandardCharsets.UTF_8).length > 99) {
            records.put("path", name.getBytes(StandardCharsets.UTF_8));
        }
        if (!records.isEmpty()) {
            var body = new ByteArrayOutputStream();
            records.forEach((k, v) -> {
                byte[] kb = k.getBytes(StandardCharsets.UTF_8);
                int len = kb.length + v.length + 3;
                int total = len + String.valueOf(len).length();
                if (String.valueOf(total).length() != String.valueOf(len).length()) {
                    total++;
                }
                body.writeBytes((total + " ").getBytes(StandardCharsets.US_ASCII));
                body.writeBytes(kb);
                body.write('=');
                body.writeBytes(v);
                body.write('\n');
            });
            byte[] b = body.toByteArray();
            byte[] h = header("PaxHeader", 'x', 0644, 0, 0, b.length, "");
            checksum(h);
            out.writeBytes(h);
            out.writeBytes(b);
            pad(b.length);
        }
        byte[] h = header(name.length() > 99 ? name.substring(0, 99) : name, type, mode, uid, gid, content.length, link);
        checksum(h);
        out.writeBytes(h);
        out.writeBytes(content);
        pad(content.length);
        return this;
    }

    public byte[] build() {
        var copy = new ByteArrayOutputStream();
        copy.writeBytes(out.toByteArray());
        copy.writeBytes(new byte[1024]);
        return copy.toByteArray();
    }

    public byte[] gzip() throws IOException {
        var b = new ByteArrayOutputStream();
        try (var gz = new GZIPOutputStream(b)) {
            gz.write(build());
        }
        return b.toByteArray();
    }

    private void pad(int n) {
        int p = (512 - n % 512) % 512;
        out.writeBytes(new byte[p]);
    }

    private static byte[] header(String name, char type, int mode, int uid, int gid, long size, String link) {
        byte[] h = new byte[512];
        put(h, 0, 100, name);
        octal(h, 100, 8, mode);
        octal(h, 108, 8, uid);
        octal(h, 116, 8, gid);
        octal(h, 124, 12, size);
        octal(h, 136, 12, 1_700_000_000L);
        h[156] = (byte) type;
        put(h, 157, 100, link);
        put(h, 257, 6, "ustar");
        put(h, 263, 2, "00");
        return h;
    }

    private static void put(byte[] h, int off, int len, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(b, 0, h, off, Math.min(len, b.length));
    }

    private static void octal(byte[] h, int off, int len, long v) {
        String s = String.format("%0" + (len - 1) + "o", v);
        put(h, off, len - 1, s);
    }

    private static void checksum(byte[] h) {
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, 7, String.format("%06o", sum));
        h[154] = 0;
    }
}
