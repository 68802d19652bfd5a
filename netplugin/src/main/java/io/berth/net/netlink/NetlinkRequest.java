package io.berth.net.netlink;

import java.util.List;

/**
 * One rtnetlink operation (STYLE.md 13): how to encode it, how to decode the kernel's replies, and
 * how to describe it in an error ({@code RTM_NEWLINK veth bth1a2b3c4d5e}). {@link NetlinkClient}
 * runs any of them.
 *
 * @param <T> what the operation returns
 */
public interface NetlinkRequest<T> {
    /** The nlmsg_type, e.g. {@link Rtnl#RTM_NEWLINK}. */
    int type();

    /** NLM_F_* flags besides NLM_F_REQUEST; include {@link Rtnl#NLM_F_DUMP} for a multipart dump. */
    int flags();

    /** Writes the fixed header (ifinfomsg, ifaddrmsg, rtmsg) and the attributes. */
    void encode(MessageWriter out);

    /** Builds the result from the reply messages (none for a plain acknowledged change). */
    T decode(List<Message> replies);

    /** The operation and its object, for errors and logs. */
    String describe();

    /**
     * The result when the kernel answers with {@code errno}, or null to fail with a
     * {@link NetlinkException}. Lets idempotent deletes treat ENODEV as "already gone".
     */
    default T onError(int errno) {
        return null;
    }

    default boolean isDump() {
        return (flags() & Rtnl.NLM_F_DUMP) == Rtnl.NLM_F_DUMP;
    }
}
