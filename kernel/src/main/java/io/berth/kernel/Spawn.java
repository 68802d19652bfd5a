package io.berth.kernel;

import com.sun.jna.Memory;
import com.sun.jna.StringArray;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * posix_spawn(3) through JNA: the only way a JVM thread starts a process that inherits that
 * thread's namespaces, root, credentials, capabilities, no_new_privs and seccomp filter (the JVM
 * must never fork). glibc uses CLONE_VM|CLONE_VFORK, so the calling thread blocks until the child
 * has exec'd or failed; a file action that opens a FIFO therefore holds both at that point (the
 * start gate, see the spike notes §2).
 */
public final class Spawn {
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final short POSIX_SPAWN_SETSID = 0x80;

    private final List<Action> actions = new ArrayList<>();
    private final List<String> described = new ArrayList<>();

    private sealed interface Action permits Open, Dup2, Close {
    }

    private record Open(int fd, String path, int flags, int mode) implements Action {
    }

    private record Dup2(int from, int to) implements Action {
    }

    private record Close(int fd) implements Action {
    }

    /** Opens {@code path} in the child (resolved against the child's root and cwd) as {@code fd}. */
    public Spawn open(int fd, String path, int flags, int mode) {
        actions.add(new Open(fd, path, flags, mode));
        described.add("open " + path + " as fd " + fd);
        return this;
    }

    public Spawn dup2(Fd from, int to) {
        actions.add(new Dup2(from.get(), to));
        return this;
    }

    public Spawn dup2(int from, int to) {
        actions.add(new Dup2(from, to));
        return this;
    }

    public Spawn close(int fd) {
        actions.add(new Close(fd));
        return this;
    }

    /**
     * Spawns {@code path} with a new session (setsid), all signals at their default disposition
     * and an empty mask, and only fds 0-2 open (posix_spawn_file_actions_addclosefrom_np, glibc
     * 2.34+). Returns the child's pid (host view). Throws naming the program on failure, with the
     * error posix_spawn reports (a failed file action or execve in the child).
     */
    public int spawn(Path path, List<String> argv, List<String> env) {
        try (Memory fa = new Memory(256); Memory attr = new Memory(512); Memory sigs = new Memory(128)) {
            check(Libc.posix_spawn_file_actions_init(fa), "posix_spawn_file_actions_init", path);
            check(Libc.posix_spawnattr_init(attr), "posix_spawnattr_init", path);
            try {
                // instanceof, not a pattern switch: a type switch links an invokedynamic call site
                // (SwitchBootstraps) on first use, which the AOT cache does not keep; in a shim,
                // interpreted, that was ~3 ms of every CreateContainer.
                for (Action a : actions) {
                    if (a instanceof Open o) {
                        check(Libc.posix_spawn_file_actions_addopen(fa, o.fd(), o.path(), o.flags(), o.mode()),
                                "posix_spawn_file_actions_addopen " + o.path(), path);
                    } else if (a instanceof Dup2 d) {
                        check(Libc.posix_spawn_file_actions_adddup2(fa, d.from(), d.to()), "posix_spawn_file_actions_adddup2", path);
                    } else if (a instanceof Close c) {
                        check(Libc.posix_spawn_file_actions_addclose(fa, c.fd()), "posix_spawn_file_actions_addclose", path);
                    }
                }
                check(Libc.posix_spawn_file_actions_addclosefrom_np(fa, 3), "posix_spawn_file_actions_addclosefrom_np", path);
                Libc.sigemptyset(sigs);
                check(Libc.posix_spawnattr_setsigmask(attr, sigs), "posix_spawnattr_setsigmask", path);
                Libc.sigfillset(sigs);
                check(Libc.posix_spawnattr_setsigdefault(attr, sigs), "posix_spawnattr_setsigdefault", path);
                check(Libc.posix_spawnattr_setflags(attr,
                        (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID)),
                        "posix_spawnattr_setflags", path);
                int[] pid = new int[1];
                // StringArray: NULL-terminated arrays of C strings, as execve wants
                var args = new StringArray(argv.toArray(new String[0]));
                var envp = new StringArray(env.toArray(new String[0]));
                int err = Libc.posix_spawn(pid, path.toString(), fa, attr, args, envp);
                if (err != 0) {
                    throw new SyscallException("posix_spawn", path + " " + argv
                            + (described.isEmpty() ? "" : " (file actions: " + String.join(", ", described) + ")"), err);
                }
                return pid[0];
            } finally {
                Libc.posix_spawn_file_actions_destroy(fa);
                Libc.posix_spawnattr_destroy(attr);
            }
        }
    }

    private static void check(int err, String call, Path path) {
        if (err != 0) {
            throw new SyscallException(call, "for " + path, err);
        }
    }
}
