package io.berth.shim;

import io.berth.kernel.Fd;
import io.berth.kernel.FileOps;
import io.berth.kernel.Processes;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import io.berth.shim.api.Empty;
import io.berth.shim.api.ShimResponse;
import io.berth.shim.api.StreamExecRequest;
import io.berth.shim.api.StreamFrame;
import io.berth.shim.api.TerminalSize;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;

/**
 * The interactive exec behind CRI Exec: a further process in the container (as {@link Exec}),
 * its stdio carried as StreamFrames over the request's connection. With a tty the process gets a
 * pty from the container's own devpts instance as its controlling terminal (stdout and stderr
 * merged, as kubelet requires: tty and stderr are exclusive); resize frames set its size.
 * When the client goes away before the process ends, the process is killed, as containerd does
 * for an exec whose stream context is cancelled (internal/cri/server/container_execsync.go).
 */
final class StreamExec {
    /** How long output may still drain after the process exited (its children may hold the pipes). */
    private static final long DRAIN_MS = 2000;

    private StreamExec() {
    }

    /** A pty master and the index of its slave, /dev/pts/INDEX in the container. */
    record Pty(Fd master, int index) {
    }

    static void serve(Container c, StreamExecRequest req, InputStream in, OutputStream out) throws IOException {
        String id = c.spec().getId();
        if (req.getArgsCount() == 0) {
            refuse(out, "exec in " + id + ": no command given");
            return;
        }
        boolean tty = req.getTty();
        Pty pty = null;
        Fd[] stdout = null;
        Fd[] stderr = null;
        Fd[] stdin = null;
        int pid;
        try {
            if (tty) {
                pty = openPty(c);
                if (req.getSize().getWidth() > 0 && req.getSize().getHeight() > 0) {
                    FileOps.setWindowSize(pty.master(), req.getSize().getHeight(), req.getSize().getWidth());
                }
                String slave = "/dev/pts/" + pty.index();
                // After POSIX_SPAWN_SETSID the first tty opened without O_NOCTTY becomes the
                // controlling terminal of the new session (credentials(7)).
                pid = Exec.start(c, req.getArgsList(), req.getEnvList(), req.getCwd(),
                        s -> s.open(0, slave, Syscalls.O_RDWR, 0).dup2(0, 1).dup2(0, 2));
            } else {
                stdout = FileOps.pipe("exec stdout");
                stderr = FileOps.pipe("exec stderr");
                stdin = FileOps.pipe("exec stdin");
                Fd[] o = stdout, e = stderr, i = stdin;
                pid = Exec.start(c, req.getArgsList(), req.getEnvList(), req.getCwd(),
                        s -> s.dup2(i[0], 0).dup2(o[1], 1).dup2(e[1], 2));
            }
        } catch (IOException | RuntimeException e) {
            closeAll(pty == null ? null : pty.master(), stdout, stderr, stdin);
            refuse(out, e.getMessage());
            return;
        } finally {
            // The child has its own copies now: the shim keeps only its ends.
            for (Fd[] p : new Fd[][] {stdout, stderr}) {
                if (p != null) p[1].close();
            }
            if (stdin != null) stdin[0].close();
        }
        ShimResponse.newBuilder().setEmpty(Empty.getDefaultInstance()).build().writeDelimitedTo(out);
        out.flush();

        var frames = new FrameWriter(out);
        var pumps = new ArrayList<Thread>();
        Fd input;
        if (tty) {
            pumps.add(Pump.start("exec-tty-" + pid, pty.master(), sink(frames, true)));
            input = pty.master();
        } else {
            pumps.add(Pump.start("exec-stdout-" + pid, stdout[0], sink(frames, true)));
            pumps.add(Pump.start("exec-stderr-" + pid, stderr[0], sink(frames, false)));
            input = stdin[1];
            if (!req.getStdin()) input.close();
        }
        var exited = new java.util.concurrent.atomic.AtomicBoolean();
        Fd master = tty ? pty.master() : null;
        int execPid = pid;
        Thread.ofPlatform().name("exec-input-" + pid).daemon(true).start(
                () -> readInput(in, input, master, execPid, exited));

        Processes.WaitStatus ws;
        try {
            ws = Processes.waitpid(pid, 0);
        } catch (SyscallException e) {
            frames.exit(255, 0, "wait for exec pid " + pid + ": " + e.getMessage());
            return;
        } finally {
            exited.set(true);
        }
        long deadline = System.currentTimeMillis() + DRAIN_MS;
        for (Thread t : pumps) {
            try {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        frames.exit(ws.exitCode(), ws.signal(), "");
    }

    /** Client frames until it closes: stdin to the process, EOF closes its stdin, resize sets the pty's size. */
    private static void readInput(InputStream in, Fd input, Fd master, int pid, java.util.concurrent.atomic.AtomicBoolean exited) {
        try {
            while (true) {
                StreamFrame f = StreamFrame.parseDelimitedFrom(in);
                if (f == null) break;
                switch (f.getFrameCase()) {
                    case STDIN -> write(input, f.getStdin().toByteArray());
                    case STDIN_EOF -> {
                        // A pty cannot be half-closed; with a tty the terminal stays (containerd alike).
                        if (master == null) input.close();
                    }
                    case RESIZE -> resize(master, f.getResize());
                    default -> Log.warn("exec " + pid + ": unexpected frame " + f.getFrameCase() + " from the client");
                }
            }
        } catch (IOException e) {
            // the connection broke: the same as the client going away
        }
        if (master == null) input.close();
        if (!exited.get()) {
            Log.info("exec " + pid + ": client went away, killing it");
            try {
                Syscalls.kill(pid, 9);
            } catch (RuntimeException e) {
                // it exited meanwhile
            }
        }
    }

    static void write(Fd fd, byte[] data) {
        if (data.length == 0 || !fd.isOpen()) return;
        try {
            FileOps.writeAll(fd, data, data.length);
        } catch (RuntimeException e) {
            // The process closed its stdin or is gone (EPIPE, or the fd closed meanwhile): the
            // input has nowhere to go, as with a pipe whose reader has exited.
        }
    }

    static void resize(Fd master, TerminalSize size) {
        if (master == null || !master.isOpen() || size.getWidth() == 0 || size.getHeight() == 0) return;
        try {
            FileOps.setWindowSize(master, size.getHeight(), size.getWidth());
        } catch (RuntimeException e) {
            Log.warn("resize to " + size.getWidth() + "x" + size.getHeight() + ": " + e.getMessage());
        }
    }

    static Pump.Sink sink(FrameWriter frames, boolean stdout) {
        return (buf, len) -> {
            try {
                if (stdout) frames.stdout(buf, len);
                else frames.stderr(buf, len);
            } catch (IOException e) {
                // The client is gone: keep draining so the process never blocks on a full pipe.
            }
        };
    }

    /**
     * A pty from the container's devpts instance, reached from the host through the container's
     * root (/proc/PID/root): the slave exists only there. The slave belongs to the container's
     * user and the tty group (gid 5), as a login's terminal would (Spawner does the same).
     */
    static Pty openPty(Container c) throws IOException {
        Path pts = Path.of("/proc/" + c.pid() + "/root/dev/pts");
        Fd master = Syscalls.open(pts.resolve("ptmx"), Syscalls.O_RDWR | Syscalls.O_NOCTTY);
        try {
            FileOps.ioctlInt(master, 0x40045431L, 0, "TIOCSPTLCK"); // unlockpt(3)
            int n = FileOps.ioctlInt(master, 0x80045430L, 0, "TIOCGPTN"); // ptsname(3)
            FileOps.chown(pts.resolve(Integer.toString(n)), c.security().uid(), 5);
            return new Pty(master, n);
        } catch (RuntimeException e) {
            master.close();
            throw new IOException("open a pty in " + pts + ": " + e.getMessage(), e);
        }
    }

    private static void closeAll(Fd master, Fd[]... pipes) {
        if (master != null) master.close();
        for (Fd[] p : pipes) {
            if (p == null) continue;
            for (Fd fd : p) fd.close();
        }
    }

    static void refuse(OutputStream out, String message) throws IOException {
        ShimResponse.newBuilder().setError(message).build().writeDelimitedTo(out);
        out.flush();
    }
}
