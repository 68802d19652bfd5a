package io.berth.net.netlink;

import com.sun.jna.Memory;
import io.berth.kernel.Errno;
import io.berth.kernel.Fd;
import io.berth.kernel.SyscallException;
import io.berth.kernel.netlink.NetlinkSyscalls;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A NETLINK_ROUTE socket that runs {@link NetlinkRequest}s one at a time: it sends the request with a
 * fresh sequence number, reads until the kernel's ACK (NLMSG_ERROR with error 0) or, for a dump,
 * NLMSG_DONE, and maps a negative error to a {@link NetlinkException} naming the operation.
 *
 * <p>The socket belongs to the network namespace of the thread that called {@link #open()}
 * (netlink(7)); open it on a thread that has joined a pod's netns to act inside that netns, e.g. in
 * {@code DedicatedThread.inNetns}. Thread-safe: requests are serialized.
 */
public final class NetlinkClient implements AutoCloseable {
    /** rtnetlink fills a dump datagram up to the receive size (at least 32 KiB); leave room. */
    private static final int RECEIVE_BUFFER = 64 * 1024;
    private static final long REPLY_TIMEOUT_MS = 10_000;
    private static final int DUMP_RETRIES = 5;

    private final Fd fd;
    private final Memory buffer = new Memory(RECEIVE_BUFFER);
    private int seq = (int) (System.nanoTime() & 0x3fffffff);

    private NetlinkClient(Fd fd) {
        this.fd = fd;
    }

    /** Opens a route netlink socket in the calling thread's network namespace. */
    public static NetlinkClient open() {
        Fd fd = NetlinkSyscalls.socket(NetlinkSyscalls.NETLINK_ROUTE);
        try {
            NetlinkSyscalls.bindAutoPort(fd);
            NetlinkSyscalls.setReceiveTimeout(fd, REPLY_TIMEOUT_MS);
            try {
                // Best effort: with extended ACKs the kernel explains EINVAL and friends in words.
                NetlinkSyscalls.setsockoptInt(fd, NetlinkSyscalls.SOL_NETLINK, NetlinkSyscalls.NETLINK_EXT_ACK, 1);
            } catch (SyscallException e) {
                // kernels before 4.12 lack it; the errno alone still names the failure
            }
            return new NetlinkClient(fd);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    public synchronized <T> T execute(NetlinkRequest<T> request) {
        for (int attempt = 0; ; attempt++) {
            try {
                return exchange(request);
            } catch (DumpInterrupted e) {
                // NLM_F_DUMP_INTR: the table changed during the dump, so it may be inconsistent; redo it.
                if (attempt >= DUMP_RETRIES) {
                    throw new NetlinkException(request.describe(), "dump kept being interrupted by concurrent changes");
                }
            }
        }
    }

    private <T> T exchange(NetlinkRequest<T> request) {
        int mySeq = ++seq;
        int flags = Rtnl.NLM_F_REQUEST | request.flags() | (request.isDump() ? 0 : Rtnl.NLM_F_ACK);
        var out = new MessageWriter(request.type(), flags, mySeq);
        request.encode(out);
        byte[] bytes = out.finish();
        try {
            NetlinkSyscalls.send(fd, bytes, out.length());
        } catch (SyscallException e) {
            throw new NetlinkException(request.describe(), e.errno(), "sendto failed");
        }
        var replies = new ArrayList<Message>();
        boolean interrupted = false;
        while (true) {
            int n;
            try {
                n = NetlinkSyscalls.receive(fd, buffer);
            } catch (SyscallException e) {
                if (e.errno() == Errno.EAGAIN) {
                    throw new NetlinkException(request.describe(), "no reply from the kernel within " + REPLY_TIMEOUT_MS + " ms");
                }
                throw new NetlinkException(request.describe(), e.errno(), "recvfrom failed");
            }
            // Copied out: the replies collected so far must survive the next recvfrom into the same buffer.
            var data = java.nio.ByteBuffer.wrap(buffer.getByteArray(0, n)).order(ByteOrder.nativeOrder());
            int pos = 0;
            while (pos + MessageWriter.HEADER <= n) {
                int len = data.getInt(pos);
                int type = Short.toUnsignedInt(data.getShort(pos + 4));
                int mflags = Short.toUnsignedInt(data.getShort(pos + 6));
                int mseq = data.getInt(pos + 8);
                if (len < MessageWriter.HEADER || pos + len > n) {
                    throw new NetlinkException(request.describe(), "malformed reply (nlmsg_len " + len + " of " + n + " bytes)");
                }
                var payload = data.slice(pos + MessageWriter.HEADER, len - MessageWriter.HEADER).order(ByteOrder.nativeOrder());
                pos += MessageWriter.align(len);
                if (mseq != mySeq) {
                    continue; // a late answer to an earlier request that timed out
                }
                if ((mflags & Rtnl.NLM_F_DUMP_INTR) != 0) {
                    interrupted = true;
                }
                if (type == Rtnl.NLMSG_ERROR) {
                    int error = payload.getInt(0);
                    if (error == 0) {
                        return request.decode(replies);
                    }
                    return failed(request, -error, kernelMessage(payload, mflags));
                }
                if (type == Rtnl.NLMSG_DONE) {
                    int error = payload.remaining() >= 4 ? payload.getInt(0) : 0;
                    if (error < 0) {
                        return failed(request, -error, null);
                    }
                    if (interrupted) {
                        throw new DumpInterrupted();
                    }
                    return request.decode(replies);
                }
                if (type != Rtnl.NLMSG_NOOP) {
                    replies.add(new Message(type, mflags, mseq, payload));
                }
            }
        }
    }

    private static <T> T failed(NetlinkRequest<T> request, int errno, String kernelMessage) {
        T fallback = request.onError(errno);
        if (fallback != null) {
            return fallback;
        }
        throw new NetlinkException(request.describe(), errno, kernelMessage);
    }

    /**
     * The extended-ack text (NLMSGERR_ATTR_MSG) after struct nlmsgerr: the error, then the echoed
     * request (only its header when NLM_F_CAPPED), then TLVs when NLM_F_ACK_TLVS (netlink(7)).
     */
    private static String kernelMessage(java.nio.ByteBuffer payload, int flags) {
        if ((flags & Rtnl.NLM_F_ACK_TLVS) == 0 || payload.limit() < 4 + MessageWriter.HEADER) {
            return null;
        }
        int echoed = (flags & Rtnl.NLM_F_CAPPED) != 0 ? MessageWriter.HEADER : payload.getInt(4);
        int from = 4 + MessageWriter.align(echoed);
        if (from >= payload.limit()) {
            return null;
        }
        return Attributes.parse(payload, from, payload.limit()).string(Rtnl.NLMSGERR_ATTR_MSG);
    }

    @Override
    public void close() {
        fd.close();
    }

    private static final class DumpInterrupted extends RuntimeException {
        DumpInterrupted() {
            super(null, null, false, false);
        }
    }

    static List<Message> only(List<Message> replies, int type) {
        return replies.stream().filter(m -> m.type() == type).toList();
    }
}
