package io.berth.net.netlink;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** The netlink attributes (struct nlattr TLVs, netlink(7)) of one message or nested attribute. */
public final class Attributes {
    private final Map<Integer, ByteBuffer> values;

    private Attributes(Map<Integer, ByteBuffer> values) {
        this.values = values;
    }

    /** Parses the TLVs in {@code buf} between {@code from} and {@code to}; a later duplicate wins. */
    public static Attributes parse(ByteBuffer buf, int from, int to) {
        var map = new HashMap<Integer, ByteBuffer>();
        int pos = from;
        while (pos + 4 <= to) {
            int len = Short.toUnsignedInt(buf.getShort(pos));
            int type = Short.toUnsignedInt(buf.getShort(pos + 2)) & Rtnl.NLA_TYPE_MASK;
            if (len < 4 || pos + len > to) {
                break;
            }
            map.put(type, buf.slice(pos + 4, len - 4).order(ByteOrder.nativeOrder()));
            pos += MessageWriter.align(len);
        }
        return new Attributes(map);
    }

    public boolean has(int type) {
        return values.containsKey(type);
    }

    public String string(int type) {
        ByteBuffer b = values.get(type);
        if (b == null) {
            return null;
        }
        byte[] bytes = new byte[b.remaining()];
        b.duplicate().get(bytes);
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) {
            n++;
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    public int u32(int type, int otherwise) {
        ByteBuffer b = values.get(type);
        return b == null || b.remaining() < 4 ? otherwise : b.getInt(0);
    }

    public byte[] bytes(int type) {
        ByteBuffer b = values.get(type);
        if (b == null) {
            return null;
        }
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    public InetAddress address(int type) {
        byte[] raw = bytes(type);
        try {
            return raw == null ? null : InetAddress.getByAddress(raw);
        } catch (UnknownHostException e) {
            return null; // a length other than 4 or 16: not an IP address
        }
    }

    public Attributes nested(int type) {
        ByteBuffer b = values.get(type);
        return b == null ? new Attributes(Map.of()) : parse(b, 0, b.limit());
    }
}
