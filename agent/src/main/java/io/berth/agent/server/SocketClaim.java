package io.berth.agent.server;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The right to serve a unix socket path. Two agents on one socket would split kubelet's calls
 * between two sets of state, so the claim is exclusive:
 * <ol>
 *   <li>an advisory lock on {@code SOCKET.lock}, held for the life of the agent (the kernel drops
 *       it when the process dies, even by kill -9), settles races between agents starting at once;
 *   <li>a socket file that still accepts connections belongs to a live server, berth or not, and is
 *       never stolen; one that refuses them is stale (its server died) and is replaced.
 * </ol>
 */
final class SocketClaim implements AutoCloseable {
    private final Path socket;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private SocketClaim(Path socket, FileChannel lockChannel, FileLock lock) {
        this.socket = socket;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    static SocketClaim claim(Path socket) throws IOException {
        Files.createDirectories(socket.getParent());
        Path lockFile = socket.resolveSibling(socket.getFileName() + ".lock");
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
            if (lock == null) {
                String holder = Files.readString(lockFile).strip();
                throw new AgentAlreadyRunningException("another berth agent (pid " + holder + ") is serving "
                        + socket + "; stop it first or give this one another --socket");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            removeIfStale(socket);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new SocketClaim(socket, channel, lock);
    }

    private static void removeIfStale(Path socket) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        if (!attrs.isOther()) {
            throw new IOException(socket + " exists and is not a socket; refusing to replace it");
        }
        if (accepts(socket)) {
            throw new AgentAlreadyRunningException("a live server is listening on " + socket
                    + "; refusing to take it over");
        }
        Files.deleteIfExists(socket);
    }

    private static boolean accepts(Path socket) {
        try (var channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            return channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            return false; // ECONNREFUSED: nobody listens there any more
        }
    }

    /** Removes the socket file and gives up the lock. */
    @Override
    public void close() throws IOException {
        try {
            Files.deleteIfExists(socket);
        } finally {
            lock.release();
            lockChannel.close();
        }
    }
}
