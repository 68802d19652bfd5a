package io.berth.net.netlink;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds one netlink message: the nlmsghdr, the request's fixed header (ifinfomsg, ifaddrmsg,
 * rtmsg) and its attributes, 4-byte aligned as NLMSG_ALIGN/NLA_ALIGN require (netlink(7),
 * rtnetlink(7)). Host byte order, except addresses, which are in network order as the kernel wants.
 */
public final class MessageWriter {
    static final int HEADER = 16;
    private ByteBuffer buf = ByteBuffer.allocate(512).order(ByteOrder.nativeOrder());

    MessageWriter(int type, int flags, int seq) {
        buf.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
    }

    public MessageWriter u8(int v) {
        ensure(1);
        buf.put((byte) v);
        return this;
    }

    public MessageWriter u16(int v) {
        ensure(2);
        buf.putShort((short) v);
        return this;
    }

    public MessageWriter u32(int v) {
        ensure(4);
        buf.putInt(v);
        return this;
    }

    /** ifinfomsg: family, pad, type, index, flags, change (rtnetlink(7)). */
    public MessageWriter ifinfomsg(int family, int index, int flags, int change) {
        return u8(family).u8(0).u16(0).u32(index).u32(flags).u32(change);
    }

    public MessageWriter attr(int type, byte[] value) {
        int len = 4 + value.length;
        ensure(align(len));
        buf.putShort((short) len).putShort((short) type).put(value);
        pad();
        return this;
    }

    public MessageWriter attrU8(int type, int v) {
        return attr(type, new byte[] {(byte) v});
    }

    public MessageWriter attrU32(int type, int v) {
        return attr(type, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array());
    }

    /** A NUL-terminated string attribute (NLA_STRING / NLA_NUL_STRING both accept it). */
    public MessageWriter attrString(int type, String v) {
        byte[] s = v.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[s.length + 1];
        System.arraycopy(s, 0, z, 0, s.length);
        return attr(type, z);
    }

    public MessageWriter attrAddress(int type, InetAddress address) {
        return attr(type, address.getAddress());
    }

    /** Opens a nested attribute; close it with {@link #end(int)} passing the returned mark. */
    public int begin(int type) {
        ensure(4);
        int mark = buf.position();
        buf.putShort((short) 0).putShort((short) (type | Rtnl.NLA_F_NESTED));
        return mark;
    }

    public MessageWriter end(int mark) {
        buf.putShort(mark, (short) (buf.position() - mark));
        return this;
    }

    /** Sets nlmsg_len; returns the message bytes (the array may be longer: send {@link #length()} bytes). */
    byte[] finish() {
        buf.putInt(0, buf.position());
        return buf.array();
    }

    int length() {
        return buf.position();
    }

    private void pad() {
        while ((buf.position() & 3) != 0) {
            buf.put((byte) 0);
        }
    }

    private void ensure(int n) {
        if (buf.remaining() < n + 4) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n + 64)).order(ByteOrder.nativeOrder());
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }
    }

    static int align(int len) {
        return (len + 3) & ~3;
    }
}
