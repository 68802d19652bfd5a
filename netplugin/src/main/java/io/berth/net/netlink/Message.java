package io.berth.net.netlink;

import java.nio.ByteBuffer;

/**
 * One received netlink message: its header fields and its payload (the fixed header such as
 * ifinfomsg followed by attributes), as a host-order buffer positioned at the payload's start.
 */
public record Message(int type, int flags, int seq, ByteBuffer payload) {
    /** The attributes after a fixed header of {@code fixedHeaderLength} bytes. */
    public Attributes attributes(int fixedHeaderLength) {
        return Attributes.parse(payload, fixedHeaderLength, payload.limit());
    }
}
