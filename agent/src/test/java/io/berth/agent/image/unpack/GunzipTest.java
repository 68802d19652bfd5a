package io.berth.agent.image.unpack;

import static io.berth.agent.image.unpack.GzipFixtures.compressible;
import static io.berth.agent.image.unpack.GzipFixtures.gzip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** Which decoder is chosen, and that the zlib fallback decodes when ISA-L cannot be had. */
class GunzipTest {
    @Test
    void aMissingLibraryFallsBackToZlib() throws IOException {
        Gunzip g = Gunzip.select("libisal-not-installed.so.2");
        assertFalse(g.isal());
        assertTrue(g.description().startsWith("zlib (java.util.zip; libisal-not-installed.so.2 not used: "),
                g.description());
        byte[] data = compressible(1, 500_000);
        try (InputStream in = Decompress.open(new BufferedInputStream(new ByteArrayInputStream(gzip(data))), g)) {
            assertInstanceOf(GZIPInputStream.class, in);
            assertArrayEquals(data, in.readAllBytes());
        }
    }

    @Test
    void aLoaderThatFailsFallsBackToZlib() {
        Gunzip g = Gunzip.select("libisal.so.2", () -> {
            throw new UnsatisfiedLinkError("Unable to load library 'libisal.so.2': cannot open shared object file");
        });
        assertFalse(g.isal());
        assertEquals("zlib (java.util.zip; libisal.so.2 not used: Unable to load library 'libisal.so.2': "
                + "cannot open shared object file)", g.description());
    }

    @Test
    void theSystemChoiceIsIsalWhenItLoads() throws IOException {
        Gunzip system = Gunzip.system();
        assertEquals(Gunzip.select(IsalInflate.SONAME).isal(), system.isal());
        byte[] data = compressible(2, 300_000);
        try (InputStream in = Decompress.open(new BufferedInputStream(new ByteArrayInputStream(gzip(data))))) {
            assertEquals(system.isal(), in instanceof IsalGzipInputStream, system.description());
            assertArrayEquals(data, in.readAllBytes());
        }
        if (system.isal()) {
            assertEquals("isa-l (libisal.so.2)", system.description());
        }
    }
}
