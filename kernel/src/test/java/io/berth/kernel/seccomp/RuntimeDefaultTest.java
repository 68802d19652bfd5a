package io.berth.kernel.seccomp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RuntimeDefaultTest {
    @Test
    void filterIsTheCompiledProfileOfTheNormalisedCapabilitySet() {
        byte[] f = RuntimeDefault.filter(List.of("kill", "CAP_CHOWN", "cap_chown"));
        assertArrayEquals(BpfCompiler.compile(RuntimeDefault.forCapabilities(Set.of("CAP_CHOWN", "CAP_KILL"))), f);
        assertSame(f, RuntimeDefault.filter(List.of("CAP_KILL", "chown")), "compiled once per capability set");
    }

    @Test
    void capabilitiesChangeTheFilter() {
        byte[] plain = RuntimeDefault.filter(List.of("CAP_CHOWN"));
        byte[] admin = RuntimeDefault.filter(List.of("CAP_CHOWN", "CAP_SYS_ADMIN"));
        assertFalse(Arrays.equals(plain, admin), "CAP_SYS_ADMIN allows mount and the CLONE_NEW* flags");
    }

    @Test
    void anUnknownCapabilityIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> RuntimeDefault.filter(List.of("CAP_FLY")));
    }
}
