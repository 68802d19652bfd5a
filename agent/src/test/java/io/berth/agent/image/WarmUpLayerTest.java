package io.berth.agent.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.image.unpack.TarReader;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @Test
    void theBusyboxLayerHasTheBinaryItsAppletLinksAndARootFilesystemsDirectories(@TempDir Path dir) throws Exception {
        byte[] binary = new byte[70_001]; // not a multiple of the 512-byte block: the padding is checked too
        new java.util.Random(7).nextBytes(binary);
        Path busybox = Files.write(dir.resolve("busybox"), binary);
        var tarDigest = Digest.messageDigest("sha256");
        byte[] layer = WarmUpLayer.busybox(busybox, List.of("sh", "sleep"), tarDigest);
        assertEquals(Digest.sha256(new GZIPInputStream(new ByteArrayInputStream(layer)).readAllBytes()),
                Digest.of("sha256", tarDigest));
        var tar = new TarReader(new GZIPInputStream(new ByteArrayInputStream(layer)));
        var entries = new LinkedHashMap<String, TarReader.Entry>();
        byte[] content = null;
        for (TarReader.Entry e; (e = tar.next()) != null; ) {
            entries.put(e.name(), e);
            if (e.name().equals("bin/busybox")) content = tar.content().readAllBytes();
        }
        assertArrayEquals(binary, content);
        assertEquals(0755, entries.get("bin/busybox").mode() & 07777);
        for (String applet : List.of("sh", "sleep")) {
            var link = entries.get("bin/" + applet);
            assertEquals(TarReader.SYMLINK, link.type(), applet);
            assertEquals("busybox", link.linkName(), applet);
        }
        assertEquals(TarReader.DIRECTORY, entries.get("tmp/").type());
        assertEquals(01777, entries.get("tmp/").mode() & 07777);
        for (String d : List.of("bin/", "etc/", "dev/", "proc/", "sys/")) {
            assertEquals(TarReader.DIRECTORY, entries.get(d).type(), d);
        }
    }
}
