package io.berth.agent.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.domain.BerthException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TokenStoreTest {
    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2025-01-01T00:00:00Z");

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    final ManualClock clock = new ManualClock();
    final StreamRequest exec = new StreamRequest.Exec("c1", List.of("true"), false, false, true, true);

    @Test
    void aTokenIsConsumedOnceOnly() {
        var store = new TokenStore(clock, Duration.ofMinutes(1), 10);
        String token = store.insert(exec);
        assertEquals(Optional.of(exec), store.consume(token));
        assertEquals(Optional.empty(), store.consume(token));
    }

    @Test
    void aTokenExpiresAfterItsTtl() {
        var store = new TokenStore(clock, Duration.ofMinutes(1), 10);
        String token = store.insert(exec);
        clock.now = clock.now.plusSeconds(59);
        String second = store.insert(exec);
        clock.now = clock.now.plusSeconds(1);
        assertEquals(Optional.empty(), store.consume(token), "expired at exactly the TTL");
        assertEquals(Optional.of(exec), store.consume(second));
    }

    @Test
    void unknownTokensFindNothing() {
        var store = new TokenStore(clock, Duration.ofMinutes(1), 10);
        store.insert(exec);
        assertEquals(Optional.empty(), store.consume("nope"));
        assertEquals(Optional.empty(), store.consume(""));
    }

    @Test
    void tokensAreRandomAndUrlSafe() {
        var store = new TokenStore(clock, Duration.ofMinutes(1), 10);
        String a = store.insert(exec);
        String b = store.insert(exec);
        assertNotEquals(a, b);
        assertTrue(a.matches("[A-Za-z0-9_-]{22}"), a);
    }

    @Test
    void tooManyOutstandingIsResourceExhaustedUntilSomeExpire() {
        var store = new TokenStore(clock, Duration.ofMinutes(1), 2);
        store.insert(exec);
        store.insert(exec);
        var e = assertThrows(BerthException.class, () -> store.insert(exec));
        assertEquals(BerthException.Kind.RESOURCE_EXHAUSTED, e.kind());
        clock.now = clock.now.plusSeconds(61);
        store.insert(exec);
        assertEquals(1, store.outstanding());
    }
}
