package io.berth.shim;

import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import io.berth.kernel.UnixSocket;
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
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Pushes this container's numbers and lifecycle to the agent over its report socket, so that the
 * agent never has to ask every shim on every scrape: a hello with the state when connected, a
 * {@code StatsSample} every interval (a few cgroup files, /proc/PID/net/dev and a walk of the
 * writable layer), and the state at once when the container exits. The agent may restart at any
 * time: its EOF (seen at once by poll) or a failed write means reconnect, retried every second.
 * One daemon platform thread, asleep in poll(2) between samples.
 */
final class AgentReporter implements Runnable {
    private static final long RETRY_MS = 1000;
    /** After the hello; see {@link ShimMain#CHORES_DELAY_MS}. */
    private static final long FIRST_SAMPLE_MS = ShimMain.CHORES_DELAY_MS;
    /** A socket buffer is 200+ KiB and a report under 1 KiB: an agent that reads none for this long is gone. */
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(5);

    private final Container container;
    private final Path address;
    private final long intervalMs;
    private final Object lock = new Object();
    private boolean stateChanged;
    private final CountDownLatch exitReported = new CountDownLatch(1);
    private CgroupStatsReader reader;
    /** Written to by {@link #stateChanged}, polled with the connection: [read end, write end]. */
    private final Fd[] wakeUp = FileOps.pipe("agent reporter wake-up", Syscalls.O_NONBLOCK);

    private AgentReporter(Container container, Path socket, long intervalMs) {
        this.container = container;
        this.address = socket;
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
        try {
            FileOps.writeAll(wakeUp[1], new byte[] {1}, 1);
        } catch (SyscallException e) {
            // EAGAIN: the pipe is full of wake-ups already
        }
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
            try (UnixSocket ch = UnixSocket.connect(address)) {
                // The agent not reading for that long counts as gone: reconnect.
                ch.setSendTimeout(SEND_TIMEOUT);
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
     * sleeps in poll(2) until the next sample is due, the agent's end closes (EOF: the agent went
     * away, reconnect now) or the container's state changes ({@link #stateChanged} wakes it): no
     * periodic wake-ups in between.
     */
    private boolean session(UnixSocket ch) throws IOException {
        synchronized (lock) {
            stateChanged = false;
        }
        State state = container.state();
        send(ch, ShimReport.newBuilder().setHello(ShimHello.newBuilder()
                .setContainerId(container.spec().getId())
                .setShimPid(io.berth.kernel.Syscalls.getpid())
                .setState(state)).build());
        if (state.getStatus() == State.Status.EXITED) {
            exitReported.countDown();
            return true;
        }
        // The first sample later, not with the hello: the hello goes out as the container is
        // created, and a sample then (cgroup files, /proc, a walk of the writable layer, all
        // interpreted: 6-25 ms measured) took the CPU from the StartContainer that follows, and
        // a second later from the next pods of a burst (ShimMain.CHORES_DELAY_MS). Until it
        // comes, the agent reads the cgroup itself when asked.
        long nextSample = System.nanoTime() + Math.min(intervalMs, FIRST_SAMPLE_MS) * 1_000_000L;
        byte[] drain = new byte[64];
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
            if (waitMs > 0) {
                int ready = ch.awaitReadable(waitMs, wakeUp[0]);
                if ((ready & 2) != 0) {
                    drainWakeUps(drain);
                }
                // The agent never writes: readable means EOF (or a reset).
                if ((ready & 1) != 0 && ch.in().read(drain) < 0) {
                    throw new IOException("agent closed the report connection");
                }
            }
            if (System.nanoTime() - nextSample >= 0) {
                sendSample(ch);
                nextSample = System.nanoTime() + intervalMs * 1_000_000L;
            }
        }
    }

    private void drainWakeUps(byte[] buf) {
        try {
            while (FileOps.read(wakeUp[0], buf) > 0) {
                // wake-ups only say "look at stateChanged"
            }
        } catch (SyscallException e) {
            // EAGAIN: drained
        }
    }

    private void sendSample(UnixSocket ch) throws IOException {
        StatsSample sample = sample();
        if (sample != null) {
            send(ch, ShimReport.newBuilder().setSample(sample).build());
        }
    }

    /** One send: protobuf writes the length and the message through one buffer, flushed once. */
    private static void send(UnixSocket ch, ShimReport report) throws IOException {
        report.writeDelimitedTo(ch.out());
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
