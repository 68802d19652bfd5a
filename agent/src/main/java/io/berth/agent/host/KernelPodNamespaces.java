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
            types.add(switch (k) {
                case NET -> Namespace.NET;
                case IPC -> Namespace.IPC;
                case UTS -> Namespace.UTS;
            });
        }
        try {
            NamespacePins.create(dir, types, hostname);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
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
