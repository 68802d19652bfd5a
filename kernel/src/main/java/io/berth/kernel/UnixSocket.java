package io.berth.kernel;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;

/**
 * A unix stream socket through libc: listen, accept, connect, blocking streams, shutdown, and a
 * wait for readability. For the shim, in place of the JDK's unix-domain channels: the first of
 * those a JVM opens seeds a SecureRandom (the JDK names unbound sockets with it), which loads the
 * JCA's provider framework, 25-45 ms interpreted at every shim's start (measured: {@code
 * ServerSocketChannel.open(UNIX)} with the shim's flags). The agent, one JVM paying that once,
 * keeps the JDK's channels.
 *
 * <p>Every socket is close-on-exec, so no container process inherits it. {@link #close()} is
 * idempotent; closing while another thread is blocked in a read of the same socket is not
 * supported (the fd number could be reused under it): end such a read with {@link #shutdownInput}.
 */
public final class UnixSocket implements AutoCloseable {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SHUT_RD = 0;
    private static final int SOL_SOCKET = 1;
    private static final int SO_SNDTIMEO = 21;
    private static final int POLLIN = 0x1;
    /** send(2): a peer that has gone is EPIPE, not a SIGPIPE. */
    private static final int MSG_NOSIGNAL = 0x4000;
    /** sizeof(struct sockaddr_un): the family (2 bytes) and a 108-byte path. */
    private static final int SOCKADDR_UN = 110;
    private static final int BACKLOG = 64;

    private final Fd fd;
    private final String what;
    private final InputStream in = new In();
    private final OutputStream out = new Out();

    private UnixSocket(int fd, String what) {
        this.fd = new Fd(fd, what);
        this.what = what;
    }

    /** A socket listening at {@code path} (which must not exist). */
    public static UnixSocket listen(Path path) throws IOException {
        UnixSocket s = open(path);
        try {
            byte[] addr = address(path);
            Libc.bind(s.fd.get(), addr, addr.length);
            Libc.listen(s.fd.get(), BACKLOG);
            return s;
        } catch (LastErrorException e) {
            s.close();
            throw new IOException("listen on unix socket " + path + ": " + Syscalls.strerror(e.getErrorCode()));
        }
    }

    /** A socket connected to the one listening at {@code path}. */
    public static UnixSocket connect(Path path) throws IOException {
        UnixSocket s = open(path);
        byte[] addr = address(path);
        try {
            retrying("connect to unix socket " + path, () -> Libc.connect(s.fd.get(), addr, addr.length));
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private static UnixSocket open(Path path) throws IOException {
        try {
            return new UnixSocket(Libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "unix socket " + path);
        } catch (LastErrorException e) {
            throw new IOException("socket for " + path + ": " + Syscalls.strerror(e.getErrorCode()));
        }
    }

    /** struct sockaddr_un for {@code path}, as long as the path and its NUL: the kernel's limit is 108 bytes. */
    static byte[] address(Path path) throws IOException {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length + 1 > SOCKADDR_UN - 2) {
            throw new IOException("unix socket path " + path + " is " + p.length + " bytes; the limit is "
                    + (SOCKADDR_UN - 3));
        }
        byte[] addr = new byte[2 + p.length + 1];
        addr[0] = AF_UNIX; // sun_family, little-endian
        System.arraycopy(p, 0, addr, 2, p.length);
        return addr;
    }

    /** The next connection (blocking). */
    public UnixSocket accept() throws IOException {
        return new UnixSocket((int) retrying("accept on " + what, () -> Libc.accept4(fd.get(), SOCK_CLOEXEC)),
                what + " (accepted)");
    }

    public InputStream in() {
        return in;
    }

    public OutputStream out() {
        return out;
    }

    /** Ends reading: a read blocked in another thread returns end of stream. */
    public void shutdownInput() {
        try {
            Libc.shutdown(fd.get(), SHUT_RD);
        } catch (LastErrorException | IllegalStateException e) {
            // not connected any more, or closed: there is no reading left to end
        }
    }

    /** A write that cannot go on for {@code timeout} (the peer reads nothing) fails instead of blocking. */
    public void setSendTimeout(Duration timeout) throws IOException {
        long[] timeval = {timeout.toSeconds(), timeout.toMillisPart() * 1000L};
        try {
            Libc.setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, timeval, 16);
        } catch (LastErrorException e) {
            throw new IOException("set the send timeout of " + what + ": " + Syscalls.strerror(e.getErrorCode()));
        }
    }

    /**
     * Waits up to {@code timeoutMs} until this socket or {@code other} is readable (data, end of
     * stream or an error). Returns a bit mask: 1 when this socket is, 2 when {@code other} is;
     * 0 after the timeout (or an interrupting signal).
     */
    public int awaitReadable(long timeoutMs, Fd other) throws IOException {
        int[] fds = {fd.get(), POLLIN, other.get(), POLLIN};
        poll(fds, timeoutMs);
        return (fds[1] >>> 16 != 0 ? 1 : 0) | (fds[3] >>> 16 != 0 ? 2 : 0);
    }

    /**
     * Waits up to {@code timeoutMs} until this socket is readable: for a listening socket, until a
     * connection waits to be accepted. False after the timeout (or an interrupting signal).
     */
    public boolean awaitReadable(long timeoutMs) throws IOException {
        int[] fds = {fd.get(), POLLIN};
        poll(fds, timeoutMs);
        return fds[1] >>> 16 != 0;
    }

    /**
     * poll(2) of {@code fds} (fd, events pairs; revents lands in each pair's high short, where any of
     * POLLIN, POLLERR, POLLHUP means a read will not block). An interrupting signal is a timeout.
     */
    private void poll(int[] fds, long timeoutMs) throws IOException {
        try {
            Libc.poll(fds, fds.length / 2, (int) Math.min(Integer.MAX_VALUE, Math.max(0, timeoutMs)));
        } catch (LastErrorException e) {
            if (e.getErrorCode() != Errno.EINTR) {
                throw new IOException("poll " + what + ": " + Syscalls.strerror(e.getErrorCode()));
            }
        }
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return what;
    }

    private final class In extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) return 0;
            byte[] buf = off == 0 ? b : new byte[len];
            int n = (int) retrying("read " + what, () -> Libc.read(fd.get(), buf, len));
            if (n == 0) return -1;
            if (buf != b) System.arraycopy(buf, 0, b, off, n);
            return n;
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            while (len > 0) {
                byte[] chunk = off == 0 ? b : Arrays.copyOfRange(b, off, off + len);
                int left = len;
                int n = (int) retrying("write " + what, () -> Libc.send(fd.get(), chunk, left, MSG_NOSIGNAL));
                off += n;
                len -= n;
            }
        }
    }

    private interface Call {
        long run() throws LastErrorException;
    }

    /**
     * {@code call}, again after EINTR; its failure as an IOException "{@code what}: reason". EAGAIN
     * comes only from a send that hit the send timeout; a closed socket is "closed".
     */
    private static long retrying(String what, Call call) throws IOException {
        while (true) {
            try {
                return call.run();
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (errno != Errno.EINTR) {
                    throw new IOException(what + ": " + (errno == Errno.EAGAIN
                            ? "the peer has read nothing within the send timeout" : Syscalls.strerror(errno)));
                }
            } catch (IllegalStateException e) {
                throw new IOException(what + ": closed");
            }
        }
    }
}
