package io.berth.net;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * IP address management for the built-in network, crash-safe like CNI host-local: one file per
 * allocated address in {@code dir}, named after the address and created with O_EXCL (CREATE_NEW),
 * so the file's existence <em>is</em> the reservation and two allocators can never both win. The
 * file holds the pod id and the CIDR it came from.
 *
 * <p>Not fsync'ed, on purpose: a reservation describes a veth in a network namespace, kernel
 * objects that die with the kernel. A killed agent loses nothing (the file is in the page cache the
 * moment write returns); a power loss or kernel crash loses the namespaces too, so a reservation
 * lost with it protects nothing, and one that survives names a dead pod and is freed by reconcile.
 * The two fsyncs (file and directory) cost 1-5 ms per pod here, more than the rest of the setup.
 *
 * <p>What a kill -9 can leave behind: a reservation whose pod never got it (empty file, or a pod the
 * agent no longer knows), or a release whose unlink was lost. Both are reservations of dead pods,
 * which {@link #reconcile} deletes; none can make an address be handed out twice.
 *
 * <p>Allocation goes round-robin from the last address handed out (kept in memory, seeded from the
 * highest reservation at start), so a freed address is not reused at once while stale neighbour and
 * conntrack entries may still point at it.
 */
final class Ipam {
    /** One address held by a pod, with the CIDR (and so prefix and gateway) it was taken from. */
    record Allocation(InetAddress address, Cidr cidr, String podId) {
    }

    private final Path dir;
    private List<Cidr> cidrs;
    private final Map<InetAddress, Allocation> byAddress = new HashMap<>();
    private final Map<Cidr, BigInteger> cursor = new HashMap<>();

    Ipam(Path dir, List<Cidr> cidrs) {
        this.dir = dir;
        this.cidrs = List.copyOf(cidrs);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("create IPAM directory " + dir, e);
        }
        load();
    }

    synchronized void setCidrs(List<Cidr> newCidrs) {
        this.cidrs = List.copyOf(newCidrs);
    }

    synchronized List<Cidr> cidrs() {
        return cidrs;
    }

    /**
     * One address from each configured CIDR for {@code podId}. Idempotent: addresses the pod already
     * holds in a configured CIDR are returned again instead of taking new ones.
     */
    synchronized List<Allocation> allocate(String podId) {
        var out = new ArrayList<Allocation>();
        var taken = new ArrayList<Allocation>();
        try {
            for (Cidr cidr : cidrs) {
                Allocation held = byAddress.values().stream()
                        .filter(a -> a.podId().equals(podId) && a.cidr().equals(cidr)).findFirst().orElse(null);
                if (held == null) {
                    held = take(cidr, podId);
                    taken.add(held);
                }
                out.add(held);
            }
            return out;
        } catch (RuntimeException e) {
            for (Allocation a : taken) {
                try {
                    free(a);
                } catch (RuntimeException undo) {
                    e.addSuppressed(undo);
                }
            }
            throw e;
        }
    }

    /** Frees every address {@code podId} holds; idempotent. */
    synchronized void release(String podId) {
        for (Allocation a : List.copyOf(byAddress.values())) {
            if (a.podId().equals(podId)) {
                free(a);
            }
        }
    }

    synchronized List<Allocation> allocationsOf(String podId) {
        return byAddress.values().stream().filter(a -> a.podId().equals(podId)).toList();
    }

    synchronized List<Allocation> all() {
        return List.copyOf(byAddress.values());
    }

    /** Frees the reservations of pods not in {@code live} (and unreadable ones); returns the pods freed. */
    synchronized Set<String> reconcile(Set<String> live) {
        load(); // the files are the truth: pick up what another instance left behind
        var freed = new HashSet<String>();
        for (Allocation a : List.copyOf(byAddress.values())) {
            if (!live.contains(a.podId())) {
                free(a);
                freed.add(a.podId());
            }
        }
        // Reservations that never got their content (crash between create and write) belong to no one.
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                InetAddress address = parseName(name);
                if (address != null && !byAddress.containsKey(address)) {
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reconcile IPAM directory " + dir, e);
        }
        return freed;
    }

    private Allocation take(Cidr cidr, String podId) {
        BigInteger size = cidr.size();
        // Usable offsets: 0 is the network (and the IPv6 subnet-router anycast address), 1 the gateway,
        // and in IPv4 the last is the broadcast address.
        BigInteger first = BigInteger.TWO;
        BigInteger last = cidr.isV6() ? size.subtract(BigInteger.ONE) : size.subtract(BigInteger.TWO);
        if (last.compareTo(first) < 0) {
            throw new NetworkException("allocate an address in " + cidr + " for pod " + podId + ": the CIDR has no room for pods");
        }
        BigInteger span = last.subtract(first).add(BigInteger.ONE);
        BigInteger start = cursor.getOrDefault(cidr, first.subtract(BigInteger.ONE)).add(BigInteger.ONE);
        // Probing is bounded: a huge IPv6 prefix is never full, a small IPv4 one is scanned once.
        long probes = span.min(BigInteger.valueOf(1 << 20)).longValueExact();
        for (long i = 0; i < probes; i++) {
            BigInteger off = start.subtract(first).add(BigInteger.valueOf(i)).mod(span).add(first);
            InetAddress candidate = cidr.at(off);
            if (byAddress.containsKey(candidate)) {
                continue;
            }
            if (reserve(candidate, cidr, podId)) {
                cursor.put(cidr, off);
                var a = new Allocation(candidate, cidr, podId);
                byAddress.put(candidate, a);
                return a;
            }
        }
        throw new NetworkException("allocate an address in " + cidr + " for pod " + podId + ": all "
                + span + " addresses are allocated (state in " + dir + ")");
    }

    /** O_CREAT|O_EXCL the reservation file and write its owner (not fsync'ed: see the class comment). */
    private boolean reserve(InetAddress address, Cidr cidr, String podId) {
        Path file = dir.resolve(address.getHostAddress());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap((podId + "\n" + cidr + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (FileAlreadyExistsException e) {
            return false; // someone else's reservation that this instance had not seen
        } catch (IOException e) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // reconcile removes an ownerless reservation
            }
            throw new UncheckedIOException("reserve " + address.getHostAddress() + " in " + dir + " for pod " + podId, e);
        }
        return true;
    }

    /** Unlinks the reservation. */
    private void free(Allocation a) {
        try {
            Files.deleteIfExists(dir.resolve(a.address().getHostAddress()));
        } catch (IOException e) {
            throw new UncheckedIOException("release " + a.address().getHostAddress() + " of pod " + a.podId() + " in " + dir, e);
        }
        byAddress.remove(a.address());
    }

    private void load() {
        byAddress.clear();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                InetAddress address = parseName(name);
                if (address == null) {
                    continue;
                }
                List<String> lines;
                try {
                    lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                } catch (NoSuchFileException gone) {
                    continue;
                }
                if (lines.size() < 2 || lines.get(0).isBlank()) {
                    continue; // torn reservation: no owner; reconcile deletes it
                }
                Cidr cidr;
                try {
                    cidr = Cidr.parse(lines.get(1));
                } catch (IllegalArgumentException e) {
                    continue;
                }
                byAddress.put(address, new Allocation(address, cidr, lines.get(0).strip()));
                BigInteger off = cidr.offsetOf(address);
                cursor.merge(cidr, off, BigInteger::max);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("read IPAM directory " + dir, e);
        }
    }

    private static InetAddress parseName(String name) {
        if (name.startsWith(".")) {
            return null;
        }
        try {
            return Cidr.literal(name, name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
