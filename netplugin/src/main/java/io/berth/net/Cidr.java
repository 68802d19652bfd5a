package io.berth.net;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 prefix such as 10.213.0.0/24 or fd00:213::/64, normalised to its network address. */
public record Cidr(InetAddress network, int prefixLength) {
    public Cidr {
        int bits = network.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " out of 0.." + bits);
        }
        network = toAddress(toNumber(network).shiftRight(bits - prefixLength).shiftLeft(bits - prefixLength), network.getAddress().length);
    }

    /** Parses {@code ADDR/LEN} without DNS lookups; the message names the bad input. */
    public static Cidr parse(String text) {
        String s = text.strip();
        int slash = s.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("CIDR '" + text + "' lacks a /prefix-length");
        }
        InetAddress addr = literal(s.substring(0, slash), text);
        int len;
        try {
            len = Integer.parseInt(s.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("CIDR '" + text + "' has a bad prefix length");
        }
        Cidr c = new Cidr(addr, len);
        int bits = c.bits();
        if (bits - len < 2) {
            throw new IllegalArgumentException("CIDR '" + text + "' is too small for a gateway and a pod");
        }
        return c;
    }

    /** An IP literal (IPv4 dotted quad or IPv6), never a host name. */
    public static InetAddress literal(String s, String context) {
        boolean v4 = s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = s.contains(":") && s.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) {
            throw new IllegalArgumentException("'" + context + "' is not an IP address");
        }
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + context + "' is not an IP address");
        }
    }

    public boolean isV6() {
        return network instanceof Inet6Address;
    }

    public int bits() {
        return network.getAddress().length * 8;
    }

    /** Number of addresses in the prefix. */
    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(bits() - prefixLength);
    }

    /** The address at {@code offset} from the network address. */
    public InetAddress at(BigInteger offset) {
        return toAddress(toNumber(network).add(offset), network.getAddress().length);
    }

    public BigInteger offsetOf(InetAddress address) {
        return toNumber(address).subtract(toNumber(network));
    }

    /** The gateway, by convention the first address after the network address (as CNI host-local). */
    public InetAddress gateway() {
        return at(BigInteger.ONE);
    }

    public boolean contains(InetAddress address) {
        if (address.getAddress().length != network.getAddress().length) {
            return false;
        }
        BigInteger off = offsetOf(address);
        return off.signum() >= 0 && off.compareTo(size()) < 0;
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }

    static BigInteger toNumber(InetAddress a) {
        return new BigInteger(1, a.getAddress());
    }

    static InetAddress toAddress(BigInteger n, int length) {
        byte[] raw = n.toByteArray();
        byte[] out = new byte[length];
        int copy = Math.min(raw.length, length);
        System.arraycopy(raw, raw.length - copy, out, length - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
