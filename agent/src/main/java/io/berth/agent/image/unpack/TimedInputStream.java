package io.berth.agent.image.unpack;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Counts the time spent inside the wrapped stream's reads, so a pull can say where its time went
 * (waiting for the network, decompressing, writing files) in its debug log. Two nanoTime calls
 * per read of tens of KiB cost nothing measurable.
 */
public final class TimedInputStream extends FilterInputStream {
    private long nanos;

    public TimedInputStream(InputStream in) {
        super(in);
    }

    @Override
    public int read() throws IOException {
        long t0 = System.nanoTime();
        try {
            return in.read();
        } finally {
            nanos += System.nanoTime() - t0;
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        long t0 = System.nanoTime();
        try {
            return in.read(b, off, len);
        } finally {
            nanos += System.nanoTime() - t0;
        }
    }

    @Override
    public long skip(long n) throws IOException {
        long t0 = System.nanoTime();
        try {
            return in.skip(n);
        } finally {
            nanos += System.nanoTime() - t0;
        }
    }

    /** Milliseconds spent in reads so far. */
    public double millis() {
        return nanos / 1e6;
    }
}
