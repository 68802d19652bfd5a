package io.berth.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.image.unpack.TarReader;
import java.io.ByteArrayInputStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class WarmUpLayerTest {
    @Test
    void isAGzipUstarOfTextFilesThatTheUnpackersReaderAccepts() throws Exception {
        byte[] layer = WarmUpLayer.gzip(1 << 20);
        assertTrue(layer.length < (1 << 20) * 3 / 4, "compresses as text does: " + layer.length);
        var tar = new TarReader(new GZIPInputStream(new ByteArrayInputStream(layer)));
        for (int f = 0; f < 4; f++) {
            TarReader.Entry e = tar.next();
            assertEquals("warm-up/f" + f, e.name());
            assertTrue(e.isRegular());
            assertEquals(256 << 10, e.size());
            assertEquals(0644, e.mode() & 07777);
            assertEquals(256 << 10, tar.content().readAllBytes().length);
        }
        assertNull(tar.next(), "the archive ends after its four files");
    }

    @Test
    void theDigestGivenIsTheTarsSha256() throws Exception {
        var tarDigest = Digest.messageDigest("sha256");
        byte[] layer = WarmUpLayer.gzip(1 << 20, tarDigest);
        byte[] tar = new GZIPInputStream(new ByteArrayInputStream(layer)).readAllBytes();
        assertEquals(Digest.sha256(tar), Digest.of("sha256", tarDigest));
    }
}
