package io.berth.net.netlink;

import java.net.InetAddress;

/** An interface address as RTM_NEWADDR describes it (rtnetlink(7)). */
public record Address(int index, InetAddress address, int prefixLength) {
    static Address decode(Message m) {
        var p = m.payload();
        int prefix = Byte.toUnsignedInt(p.get(1));
        int index = p.getInt(4);
        Attributes a = m.attributes(8);
        // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS otherwise.
        InetAddress address = a.has(Rtnl.IFA_LOCAL) ? a.address(Rtnl.IFA_LOCAL) : a.address(Rtnl.IFA_ADDRESS);
        return new Address(index, address, prefix);
    }

    @Override
    public String toString() {
        return address.getHostAddress() + "/" + prefixLength + " (ifindex " + index + ")";
    }
}
