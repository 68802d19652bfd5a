package io.berth.kernel;

/** An owned file descriptor. {@link #close()} is idempotent; {@link #get()} after close throws. */
public final class Fd implements AutoCloseable {
    private final String what;
    private volatile int fd;

    public Fd(int fd, String what) {
        this.fd = fd;
        this.what = what;
    }

    public int get() {
        int f = fd;
        if (f < 0) {
            throw new IllegalStateException("fd of " + what + " is closed");
        }
        return f;
    }

    public boolean isOpen() {
        return fd >= 0;
    }

    @Override
    public synchronized void close() {
        int f = fd;
        if (f >= 0) {
            fd = -1;
            Syscalls.close(f);
        }
    }

    @Override
    public String toString() {
        return "Fd[" + fd + " " + what + "]";
    }
}
