package io.berth.agent.util;

import io.berth.agent.domain.BerthException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Objects by id, found by their full id or by a unique prefix of it, as crictl users type them
 * (containerd's truncindex). An ambiguous prefix is an error naming the matches.
 */
public final class IdIndex<T> {
    private final ConcurrentSkipListMap<String, T> byId = new ConcurrentSkipListMap<>();
    private final String kind;

    public IdIndex(String kind) {
        this.kind = kind;
    }

    public void put(String id, T value) {
        byId.put(id, value);
    }

    public void remove(String id) {
        byId.remove(id);
    }

    /** The object whose id is {@code idOrPrefix} or uniquely starts with it. */
    public Optional<T> find(String idOrPrefix) {
        if (idOrPrefix == null || idOrPrefix.isEmpty()) {
            return Optional.empty();
        }
        T exact = byId.get(idOrPrefix);
        if (exact != null) {
            return Optional.of(exact);
        }
        Map<String, T> matches = byId.subMap(idOrPrefix, idOrPrefix + Character.MAX_VALUE);
        if (matches.size() > 1) {
            List<String> ids = matches.keySet().stream().limit(5).toList();
            throw BerthException.invalid(kind + " id prefix '" + idOrPrefix + "' is ambiguous: matches " + ids);
        }
        return matches.values().stream().findFirst();
    }

    public Collection<T> all() {
        return byId.values();
    }
}
