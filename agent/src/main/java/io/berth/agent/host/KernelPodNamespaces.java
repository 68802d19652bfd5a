package io.berth.agent.host;

import io.berth.agent.pod.PodNamespaces;
import io.berth.kernel.Namespace;
import io.berth.kernel.NamespacePins;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/** {@link PodNamespaces} on the real kernel: pins made by {@link NamespacePins} on a dedicated thread. */
public final class KernelPodNamespaces implements PodNamespaces {
    @Override
    public void create(Path dir, Set<Kind> kinds, String hostname) {
        var types = EnumSet.noneOf(Namespace.class);
        for (Kind k : kinds) {
            types.add(namespace(k));
        }
        try {
            NamespacePins.create(dir, types, hostname);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    @Override
    public Set<Kind> lost(Path dir, Set<Kind> kinds) {
        var lost = EnumSet.noneOf(Kind.class);
        for (Kind k : kinds) {
            if (!NamespacePins.holds(PodNamespaces.pin(dir, k), namespace(k))) lost.add(k);
        }
        return lost;
    }

    private static Namespace namespace(Kind k) {
        return switch (k) {
            case NET -> Namespace.NET;
            case IPC -> Namespace.IPC;
            case UTS -> Namespace.UTS;
        };
    }

    @Override
    public void remove(Path dir) {
        try {
            NamespacePins.remove(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }
}
