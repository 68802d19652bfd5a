package io.berth.shim;

import io.berth.kernel.cgroup.CgroupStats;
import io.berth.kernel.cgroup.CgroupStatsReader;
import io.berth.kernel.stats.DiskUsage;
import io.berth.kernel.stats.NetDev;
import io.berth.shim.api.NetInterface;
import io.berth.shim.api.ShimHello;
import io.berth.shim.api.ShimReport;
import io.berth.shim.api.State;
import io.berth.shim.api.StatsSample;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Pushes this container's numbers and lifecycle to the agent over its report socket, so that the
 * agent never has to ask every shim on every scrape: a hello with the state when connected, a
 * {@code StatsSample} every interval (a few cgroup files, /proc/PID/net/dev and a walk of the
 * writable layer), and the state at once when the container exits. The agent may restart at any
 * time: its EOF (seen at once by select) or a failed write means reconnect, retried every second.
 * One daemon platform thread, asleep in select(2) between samples.
 */
final class AgentReporter implements Runnable {
    private static final long RETRY_MS = 1000;

    private final Container container;
    private final UnixDomainSocketAddress address;
    private final long intervalMs;
    private final Object lock = new Object();
    private boolean stateChanged;
    private final CountDownLatch exitReported = new CountDownLatch(1);
    private CgroupStatsReader reader;
    private volatile Selector selector;

    private AgentReporter(Container container, Path socket, long intervalMs) {
        this.container = container;
        this.address = UnixDomainSocketAddress.of(socket);
        this.intervalMs = intervalMs > 0 ? intervalMs : 10_000;
    }

    static AgentReporter start(Container container, Path socket, long intervalMs) {
        var r = new AgentReporter(container, socket, intervalMs);
        Thread.ofPlatform().name("agent-reporter").daemon(true).start(r);
        return r;
    }

    /** The container changed state (exited): report it now. */
    void stateChanged() {
        synchronized (lock) {
            stateChanged = true;
            lock.notifyAll();
        }
        Selector sel = selector;
        if (sel != null) sel.wakeup();
    }

    /** Waits (bounded) until the exit has been sent to the agent, or sending it failed. */
    void awaitExitReported(long millis) {
        try {
            exitReported.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void run() {
        boolean warned = false;
        while (true) {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(address);
                warned = false;
                if (session(ch)) {
                    return;
                }
            } catch (IOException e) {
                if (!warned) {
                    Log.warn("report to agent at " + address + ": " + e.getMessage() + " (retrying every second)");
                    warned = true;
                }
            }
            if (container.state().getStatus() == State.Status.EXITED) {
                // The agent is away; exit.pb tells it what happened when it is back.
                exitReported.countDown();
                return;
            }
            pause(RETRY_MS);
        }
    }

    /**
     * One connection; true when the exit has been reported and the reporter is done. The thread
     * sleeps in select(2) until the next sample is due, the agent's end closes (EOF: the agent went
     * away, reconnect now) or the container's state changes ({@link #stateChanged} wakes it): no
     * periodic wake-ups in between.
     */
    private boolean session(SocketChannel ch) throws IOException {
        synchronized (lock) {
            stateChanged = false;
        }
        ch.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            ch.register(selector, SelectionKey.OP_READ);
            this.selector = selector;
            State state = container.state();
            send(ch, ShimReport.newBuilder().setHello(ShimHello.newBuilder()
                    .setContainerId(container.spec().getId())
                    .setShimPid(ProcessHandle.current().pid())
                    .setState(state)).build());
            if (state.getStatus() == State.Status.EXITED) {
                exitReported.countDown();
                return true;
            }
            sendSample(ch);
            long nextSample = System.nanoTime() + intervalMs * 1_000_000L;
            while (true) {
                boolean changed;
                synchronized (lock) {
                    changed = stateChanged;
                    stateChanged = false;
                }
                if (changed) {
                    State now = container.state();
                    send(ch, ShimReport.newBuilder().setState(now).build());
                    if (now.getStatus() == State.Status.EXITED) {
                        exitReported.countDown();
                        return true;
                    }
                }
                long waitMs = (nextSample - System.nanoTime()) / 1_000_000L;
                if (waitMs > 0 && selector.select(waitMs) > 0) {
                    selector.selectedKeys().clear();
                    // The agent never writes: readable means EOF (or a reset).
                    if (ch.read(ByteBuffer.allocate(64)) < 0) {
                        throw new IOException("agent closed the report connection");
                    }
                }
                if (System.nanoTime() - nextSample >= 0) {
                    sendSample(ch);
                    nextSample = System.nanoTime() + intervalMs * 1_000_000L;
                }
            }
        } finally {
            this.selector = null;
        }
    }

    private void sendSample(SocketChannel ch) throws IOException {
        StatsSample sample = sample();
        if (sample != null) {
            send(ch, ShimReport.newBuilder().setSample(sample).build());
        }
    }

    private static void send(SocketChannel ch, ShimReport report) throws IOException {
        var bytes = new java.io.ByteArrayOutputStream(256);
        report.writeDelimitedTo(bytes);
        ByteBuffer buf = ByteBuffer.wrap(bytes.toByteArray());
        int stalls = 0;
        while (buf.hasRemaining()) {
            if (ch.write(buf) == 0) {
                // Non-blocking and the agent is not reading (a socket buffer is 200+ KiB, a report
                // under 1 KiB): give it a few seconds, then treat it as gone and reconnect.
                if (++stalls > 500) throw new IOException("agent not reading its report socket");
                LockSupport.parkNanos(10_000_000L);
            }
        }
    }

    /** Null when there is nothing to read: not running yet, or the cgroup is gone. */
    StatsSample sample() {
        var cgroup = container.cgroup();
        if (cgroup == null || container.state().getStatus() == State.Status.EXITED) {
            return null;
        }
        CgroupStats s;
        try {
            if (reader == null) reader = CgroupStatsReader.host();
            s = reader.read(cgroup.path());
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            Log.warn("read stats of cgroup " + cgroup.path() + ": " + e.getMessage());
            return null;
        }
        var b = StatsSample.newBuilder()
                .setTimestamp(s.timestamp())
                .setCpuUsageNs(s.cpuUsageNanos()).setCpuUserNs(s.cpuUserNanos()).setCpuSystemNs(s.cpuSystemNanos())
                .setMemoryUsageBytes(s.memoryUsageBytes()).setMemoryLimitBytes(s.memoryLimitBytes())
                .setMemoryWorkingSetBytes(s.workingSetBytes()).setMemoryRssBytes(s.rssBytes())
                .setMemoryCacheBytes(s.cacheBytes()).setPageFaults(s.pageFaults())
                .setMajorPageFaults(s.majorPageFaults()).setPids(s.pids()).setOomKills(s.oomKills());
        int pid = container.pid();
        if (pid > 0) {
            try {
                long t = System.currentTimeMillis() * 1_000_000L;
                for (NetDev.Interface i : NetDev.read(Path.of("/proc/" + pid + "/net/dev"))) {
                    b.addInterfaces(NetInterface.newBuilder().setName(i.name())
                            .setRxBytes(i.rxBytes()).setRxPackets(i.rxPackets()).setRxErrors(i.rxErrors())
                            .setRxDropped(i.rxDropped()).setTxBytes(i.txBytes()).setTxPackets(i.txPackets())
                            .setTxErrors(i.txErrors()).setTxDropped(i.txDropped()));
                }
                b.setNetworkTimestamp(t);
            } catch (IOException e) {
                // the process is gone between the two reads; the next sample (or the exit) follows
            }
        }
        String upper = container.spec().getRootfs().getUpperDir();
        if (!upper.isEmpty()) {
            try {
                DiskUsage.Usage u = DiskUsage.of(Path.of(upper));
                b.setFsTimestamp(u.timestamp()).setFsUsedBytes(u.bytes()).setFsInodesUsed(u.inodes());
            } catch (IOException e) {
                Log.warn("measure writable layer " + upper + ": " + e.getMessage());
            }
        }
        return b.build();
    }

    private void pause(long ms) {
        synchronized (lock) {
            try {
                lock.wait(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
