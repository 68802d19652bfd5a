package io.berth.shim;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;

/**
 * The CRI container log format (kubelet pkg/kubelet/kuberuntime/logs): one record per line,
 * {@code <RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>\n}. F ends a line the process
 * wrote; P is a partial piece of a line longer than {@link #MAX_LINE} (containerd's 16 KiB buffer),
 * continued by the next record of the same stream. Each stream is framed separately.
 * Thread-safe: the stdout and stderr pumps share one writer. Reopenable for log rotation.
 */
public final class CriLog implements AutoCloseable {
    public static final int MAX_LINE = 16 * 1024;

    public enum Stream {
        STDOUT("stdout"), STDERR("stderr");

        final byte[] name;

        Stream(String n) {
            this.name = n.getBytes(StandardCharsets.US_ASCII);
        }
    }

    private final Path path;
    private final Clock clock;
    private OutputStream out;
    private final byte[][] pending = {new byte[MAX_LINE], new byte[MAX_LINE]};
    /** One record as written: timestamp, stream, tag, a line of at most MAX_LINE bytes, newline. */
    private final byte[] record = new byte[Rfc3339.MAX_LENGTH + 10 + MAX_LINE + 1];
    private final int[] pendingLen = new int[2];

    /** {@code path} null: output is read and discarded (no log_path in the spec). */
    public CriLog(Path path, Clock clock) throws IOException {
        this.path = path;
        this.clock = clock;
        open();
    }

    private void open() throws IOException {
        if (path != null) {
            Files.createDirectories(path.toAbsolutePath().getParent());
            out = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        }
    }

    /** Closes and reopens the file (after kubelet rotated it away). */
    public synchronized void reopen() throws IOException {
        if (out != null) out.close();
        open();
    }

    /** Appends bytes the process wrote on {@code stream}; complete lines are written at once. */
    public synchronized void write(Stream stream, byte[] buf, int off, int len) throws IOException {
        int s = stream.ordinal();
        byte[] line = pending[s];
        for (int i = off; i < off + len; i++) {
            byte b = buf[i];
            if (b == '\n') {
                record(stream, 'F', line, pendingLen[s]);
                pendingLen[s] = 0;
            } else {
                if (pendingLen[s] == MAX_LINE) {
                    record(stream, 'P', line, MAX_LINE);
                    pendingLen[s] = 0;
                }
                line[pendingLen[s]++] = b;
            }
        }
        if (out != null) out.flush();
    }

    /** The stream ended: a last line without newline is written as a full line (as containerd does). */
    public synchronized void endOf(Stream stream) throws IOException {
        int s = stream.ordinal();
        if (pendingLen[s] > 0) {
            record(stream, 'F', pending[s], pendingLen[s]);
            pendingLen[s] = 0;
            if (out != null) out.flush();
        }
    }

    /**
     * Writes one record with a single write(2) (the file is unbuffered): a reader following the
     * file (kubelet, crictl logs -f) never sees part of a line, and a line costs one system call.
     */
    private void record(Stream stream, char tag, byte[] content, int len) throws IOException {
        if (out == null) return;
        Instant now = clock.instant();
        byte[] r = record;
        int n = Rfc3339.format(now.getEpochSecond(), now.getNano(), r, 0);
        r[n++] = ' ';
        System.arraycopy(stream.name, 0, r, n, stream.name.length);
        n += stream.name.length;
        r[n++] = ' ';
        r[n++] = (byte) tag;
        r[n++] = ' ';
        System.arraycopy(content, 0, r, n, len);
        n += len;
        r[n++] = '\n';
        out.write(r, 0, n);
    }

    @Override
    public synchronized void close() throws IOException {
        if (out != null) {
            out.close();
            out = null;
        }
    }
}
