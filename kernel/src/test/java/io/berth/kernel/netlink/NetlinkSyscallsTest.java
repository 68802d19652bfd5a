package io.berth.kernel.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import io.berth.kernel.Errno;
import io.berth.kernel.Fd;
import io.berth.kernel.SyscallException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The raw netlink socket wrappers: no root needed for a read-only RTM_GETLINK of lo. */
class NetlinkSyscallsTest {
    @Test
    void aRouteSocketAnswersAGetlinkOfLo() {
        try (Fd fd = NetlinkSyscalls.socket(NetlinkSyscalls.NETLINK_ROUTE)) {
            NetlinkSyscalls.bindAutoPort(fd);
            assertNotEquals(0, NetlinkSyscalls.portId(fd), "the kernel assigned a port id");
            NetlinkSyscalls.setReceiveTimeout(fd, 2000);
            // nlmsghdr(16) + ifinfomsg(16) for RTM_GETLINK(18) of ifindex 1 with NLM_F_REQUEST
            byte[] req = ByteBuffer.allocate(32).order(ByteOrder.nativeOrder())
                    .putInt(32).putShort((short) 18).putShort((short) 1).putInt(1).putInt(0)
                    .put((byte) 0).put((byte) 0).putShort((short) 0).putInt(1).putInt(0).putInt(0).array();
            NetlinkSyscalls.send(fd, req, req.length);
            var buf = new Memory(32768);
            int n = NetlinkSyscalls.receive(fd, buf);
            ByteBuffer reply = buf.getByteBuffer(0, n).order(ByteOrder.nativeOrder());
            assertEquals(16, reply.getShort(4), "RTM_NEWLINK");
            assertEquals(1, reply.getInt(16 + 4), "ifindex of lo");
        }
    }

    @Test
    void errorsNameTheCall() {
        var e = assertThrows(SyscallException.class, () -> NetlinkSyscalls.socket(4242));
        assertTrue(e.getMessage().startsWith("socket AF_NETLINK SOCK_RAW|SOCK_CLOEXEC protocol 4242: "), e.getMessage());
        assertEquals("ENODEV", NetlinkErrno.name(NetlinkErrno.ENODEV));
        assertEquals("EEXIST", NetlinkErrno.name(Errno.EEXIST));
    }
}
