package io.berth.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.berth.agent.domain.BerthException;
import org.junit.jupiter.api.Test;

class ImageRefTest {
    static final String D = "sha256:" + "a".repeat(64);

    @Test
    void normalisesLikeDocker() {
        assertEquals("docker.io/library/busybox:latest", ImageRef.parse("busybox").toString());
        assertEquals("docker.io/library/busybox:1.36", ImageRef.parse("busybox:1.36").toString());
        assertEquals("docker.io/bitnami/redis:7", ImageRef.parse("bitnami/redis:7").toString());
        assertEquals("docker.io/library/busybox:latest", ImageRef.parse("docker.io/busybox").toString());
        assertEquals("docker.io/library/busybox:latest", ImageRef.parse("index.docker.io/library/busybox").toString());
        assertEquals("registry.k8s.io/pause:3.10", ImageRef.parse("registry.k8s.io/pause:3.10").toString());
    }

    @Test
    void hostsWithPortsAndLocalhost() {
        var r = ImageRef.parse("127.0.0.1:5000/team/app:v1");
        assertEquals("127.0.0.1:5000", r.domain());
        assertEquals("team/app", r.repository());
        assertEquals("v1", r.tag());
        assertEquals("localhost", ImageRef.parse("localhost/app").domain());
        assertEquals("localhost:5000/app:latest", ImageRef.parse("localhost:5000/app").toString());
    }

    @Test
    void digests() {
        var r = ImageRef.parse("busybox@" + D);
        assertNull(r.tag());
        assertEquals(D, r.digest().toString());
        assertEquals(D, r.manifestReference());
        assertEquals("docker.io/library/busybox@" + D, r.repoDigest(r.digest()));
        var both = ImageRef.parse("busybox:1@" + D);
        assertEquals("1", both.tag());
        assertEquals(D, both.manifestReference(), "the digest decides what is pulled");
    }

    @Test
    void refusesBadReferences() {
        assertThrows(BerthException.class, () -> ImageRef.parse(""));
        assertThrows(BerthException.class, () -> ImageRef.parse("Busybox"));
        assertThrows(BerthException.class, () -> ImageRef.parse("busybox@sha256:abc"));
        assertThrows(BerthException.class, () -> ImageRef.parse("busybox:bad tag"));
        assertThrows(BerthException.class, () -> ImageRef.parse("host:port/x"));
        assertThrows(BerthException.class, () -> ImageRef.parse("a//b"));
    }
}
