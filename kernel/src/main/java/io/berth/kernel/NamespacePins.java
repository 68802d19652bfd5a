package io.berth.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/**
 * A pod's network, IPC and UTS namespaces kept alive without a process (as CRI-O's pinns does):
 * a dedicated thread unshares them, sets the hostname, and bind-mounts its
 * /proc/thread-self/ns/X onto DIR/X. The pins are made from the host mount namespace (the thread
 * never unshares its mount namespace), so they are visible to the agent and every shim.
 */
public final class NamespacePins {
    private static final Set<Namespace> PINNABLE = Set.of(Namespace.NET, Namespace.IPC, Namespace.UTS);

    private NamespacePins() {
    }

    /** Creates the namespaces and returns the pin file of each. On failure nothing is left behind. */
    public static Map<Namespace, Path> create(Path dir, Set<Namespace> types, String hostname) throws IOException {
        for (Namespace ns : types) {
            if (!PINNABLE.contains(ns)) {
                throw new IllegalArgumentException("cannot pin a " + ns + " namespace without a process (only NET, IPC, UTS)");
            }
        }
        Files.createDirectories(dir);
        try {
            return DedicatedThread.call("pin-" + dir.getFileName(), () -> {
                int flags = 0;
                for (Namespace ns : types) flags |= ns.cloneFlag;
                Syscalls.unshare(flags);
                if (types.contains(Namespace.UTS) && hostname != null && !hostname.isEmpty()) {
                    Syscalls.sethostname(hostname);
                }
                var pins = new EnumMap<Namespace, Path>(Namespace.class);
                List<Runnable> undo = new ArrayList<>();
                try {
                    for (Namespace ns : types) {
                        Path pin = dir.resolve(ns.procName);
                        // The bind-mount target must exist; an empty regular file is enough.
                        Files.newByteChannel(pin, java.nio.file.StandardOpenOption.CREATE,
                                java.nio.file.StandardOpenOption.WRITE).close();
                        undo.add(() -> pin.toFile().delete());
                        Syscalls.mount("/proc/thread-self/ns/" + ns.procName, pin, null, MountFlags.MS_BIND, null);
                        undo.add(() -> Syscalls.umount2(pin, MountFlags.MNT_DETACH));
                        pins.put(ns, pin);
                    }
                } catch (RuntimeException | IOException e) {
                    for (int i = undo.size() - 1; i >= 0; i--) {
                        try {
                            undo.get(i).run();
                        } catch (RuntimeException u) {
                            e.addSuppressed(u);
                        }
                    }
                    throw e;
                }
                return Map.copyOf(pins);
            });
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw new IOException("pin namespaces in " + dir + ": " + io.getMessage(), io);
            if (c instanceof RuntimeException re) throw re;
            throw new IOException("pin namespaces in " + dir, c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted pinning namespaces in " + dir, e);
        }
    }

    /** ioctl_ns(2): the CLONE_NEW* type of the namespace an fd refers to. */
    private static final long NS_GET_NSTYPE = 0xb703L;

    /**
     * Whether {@code pin} still holds a namespace of {@code type}. False when the pin is gone or is
     * a plain file again: after a reboot (the run directory kept on a disk, its bind mounts gone)
     * or once something unmounted it. An open and an ioctl(NS_GET_NSTYPE), which fails with ENOTTY
     * on anything but a namespace file.
     */
    public static boolean holds(Path pin, Namespace type) {
        Fd fd;
        try {
            fd = Syscalls.open(pin, Syscalls.O_RDONLY);
        } catch (SyscallException e) {
            if (e.errno() == Errno.ENOENT) return false;
            throw e;
        }
        try (fd) {
            return FileOps.ioctl(fd, NS_GET_NSTYPE, "NS_GET_NSTYPE") == type.cloneFlag;
        } catch (SyscallException e) {
            if (e.errno() == Errno.ENOTTY) return false;
            throw e;
        }
    }

    /** Unmounts and deletes the pins in {@code dir}; idempotent (missing pins are fine). */
    public static void remove(Path dir) throws IOException {
        var errors = new ArrayList<RuntimeException>();
        for (Namespace ns : PINNABLE) {
            Path pin = dir.resolve(ns.procName);
            if (!Files.exists(pin)) continue;
            // The pin may be mounted more than once (e.g. a retried create); unmount until it is not.
            for (int i = 0; i < 8; i++) {
                try {
                    Syscalls.umount2(pin, MountFlags.MNT_DETACH);
                } catch (SyscallException e) {
                    if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) errors.add(e);
                    break;
                }
            }
            Files.deleteIfExists(pin);
        }
        if (!errors.isEmpty()) {
            var e = new IOException("remove namespace pins in " + dir + ": " + errors.getFirst().getMessage());
            errors.forEach(e::addSuppressed);
            throw e;
        }
    }
}
