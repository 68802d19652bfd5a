package io.berth.agent.streaming;

import io.berth.agent.domain.BerthException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Single-use tokens for streaming URLs, as kubelet's request cache issues them
 * (k8s.io/kubelet/pkg/cri/streaming/request_cache.go): random, valid for a short time (1 minute by
 * default), at most {@code maxInFlight} outstanding; consuming one removes it, so a URL works once.
 */
public final class TokenStore {
    /** kubelet's CacheTTL and MaxInFlight. */
    public static final Duration DEFAULT_TTL = Duration.ofMinutes(1);
    public static final int DEFAULT_MAX_IN_FLIGHT = 1000;

    private record Entry(StreamRequest request, Instant expires) {
    }

    private final Clock clock;
    private final Duration ttl;
    private final int maxInFlight;
    private final SecureRandom random = new SecureRandom();
    /** Insertion order is expiry order (one TTL for all), so expired entries are at the head. */
    private final Map<String, Entry> tokens = new LinkedHashMap<>();

    public TokenStore(Clock clock, Duration ttl, int maxInFlight) {
        if (ttl.isNegative() || ttl.isZero()) throw new IllegalArgumentException("token TTL must be positive: " + ttl);
        this.clock = clock;
        this.ttl = ttl;
        this.maxInFlight = maxInFlight;
    }

    /** A new token for {@code request}; RESOURCE_EXHAUSTED when too many are outstanding. */
    public synchronized String insert(StreamRequest request) {
        Instant now = clock.instant();
        evictExpired(now);
        if (tokens.size() >= maxInFlight) {
            throw new BerthException(BerthException.Kind.RESOURCE_EXHAUSTED, "too many streaming requests in flight ("
                    + maxInFlight + " unused URLs); try again when some have been used or expired");
        }
        String token;
        do {
            byte[] b = new byte[16];
            random.nextBytes(b);
            token = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        } while (tokens.containsKey(token));
        tokens.put(token, new Entry(request, now.plus(ttl)));
        return token;
    }

    /** The request behind {@code token}, removing it; empty if unknown, already used or expired. */
    public synchronized Optional<StreamRequest> consume(String token) {
        Entry e = tokens.remove(token);
        if (e == null || !clock.instant().isBefore(e.expires())) {
            return Optional.empty();
        }
        return Optional.of(e.request());
    }

    public synchronized int outstanding() {
        evictExpired(clock.instant());
        return tokens.size();
    }

    private void evictExpired(Instant now) {
        for (Iterator<Entry> it = tokens.values().iterator(); it.hasNext(); ) {
            if (now.isBefore(it.next().expires())) break;
            it.remove();
        }
    }
}
