package io.berth.agent.shim;

import io.berth.agent.log.Log;
import io.berth.agent.stats.Sample;
import io.berth.kernel.cgroup.CgroupStats;
import io.berth.kernel.stats.DiskUsage;
import io.berth.kernel.stats.NetDev;
import io.berth.shim.api.ShimReport;
import io.berth.shim.api.StatsSample;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agent's end of the shims' report socket (RUN_DIR/shims.sock): every shim keeps one
 * connection and pushes its hello, its samples and its exit (shim.proto, ShimReport). One virtual
 * thread per connection reads; the listener is told in protocol-free terms. A shim whose
 * connection ends is either done (its container exited and it said so) or gone; the listener
 * decides which from the durable exit record. Shims reconnect by themselves after an agent restart.
 */
public final class ShimReports implements AutoCloseable {
    private static final Log LOG = Log.get(ShimReports.class);
    public static final String SOCKET = "shims.sock";

    /** What the agent does with reports. Called on the connection's thread; may block briefly. */
    public interface Listener {
        void connected(String containerId);

        void sample(String containerId, Sample sample);

        /** The container's state changed (it exited): look again. */
        void stateChanged(String containerId);

        void disconnected(String containerId);
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private final Listener listener;
    private final Map<String, SocketChannel> connections = new ConcurrentHashMap<>();

    private ShimReports(ServerSocketChannel server, Path socket, Listener listener) {
        this.server = server;
        this.socket = socket;
        this.listener = listener;
    }

    public static ShimReports start(Path runDir, Listener listener) throws IOException {
        Path socket = runDir.resolve(SOCKET);
        // A socket file left by an agent that died: only one agent owns run_dir (the CRI socket claim
        // proved it), so the file is stale.
        Files.deleteIfExists(socket);
        var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // Root only: a report changes what the agent believes about a container.
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        var reports = new ShimReports(server, socket, listener);
        Thread.ofPlatform().daemon(true).name("shim-reports").start(reports::accept);
        return reports;
    }

    public Path socket() {
        return socket;
    }

    /** Shims connected now. */
    public int connected() {
        return connections.size();
    }

    private void accept() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                Thread.ofVirtual().name("shim-report").start(() -> serve(ch));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.warn("accept on shim report socket", "socket", socket, "error", e.getMessage());
            }
        }
    }

    private void serve(SocketChannel ch) {
        String id = null;
        try (ch) {
            InputStream in = Channels.newInputStream(ch);
            while (true) {
                ShimReport r = ShimReport.parseDelimitedFrom(in);
                if (r == null) break;
                switch (r.getReportCase()) {
                    case HELLO -> {
                        id = r.getHello().getContainerId();
                        SocketChannel old = connections.put(id, ch);
                        if (old != null && old != ch) old.close();
                        listener.connected(id);
                        LOG.debug("shim connected", "id", id, "shim_pid", r.getHello().getShimPid());
                    }
                    case SAMPLE -> {
                        if (id != null) listener.sample(id, sample(r.getSample()));
                    }
                    case STATE -> {
                        if (id != null) listener.stateChanged(id);
                    }
                    case REPORT_NOT_SET -> LOG.warn("empty shim report", "id", id);
                }
            }
        } catch (IOException e) {
            if (server.isOpen()) LOG.debug("shim report connection ended", "id", id, "error", e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("shim report handling failed", "id", id, "error", e.toString());
        } finally {
            if (id != null && connections.remove(id, ch) && server.isOpen()) {
                listener.disconnected(id);
            }
        }
    }

    static Sample sample(StatsSample s) {
        var cg = new CgroupStats(s.getTimestamp(), s.getCpuUsageNs(), s.getCpuUserNs(), s.getCpuSystemNs(),
                s.getMemoryUsageBytes(), s.getMemoryLimitBytes(), s.getMemoryWorkingSetBytes(), s.getMemoryRssBytes(),
                s.getMemoryCacheBytes(), s.getPageFaults(), s.getMajorPageFaults(), s.getPids(), s.getOomKills());
        var net = s.getInterfacesList().stream().map(i -> new NetDev.Interface(i.getName(), i.getRxBytes(),
                i.getRxPackets(), i.getRxErrors(), i.getRxDropped(), i.getTxBytes(), i.getTxPackets(), i.getTxErrors(),
                i.getTxDropped())).toList();
        var fs = s.getFsTimestamp() > 0 ? new DiskUsage.Usage(s.getFsTimestamp(), s.getFsUsedBytes(), s.getFsInodesUsed()) : null;
        return new Sample(cg, s.getNetworkTimestamp(), net, fs);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel ch : connections.values()) {
            ch.close();
        }
        Files.deleteIfExists(socket);
    }
}
