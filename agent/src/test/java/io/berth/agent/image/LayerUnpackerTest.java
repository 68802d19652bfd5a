package io.berth.agent.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.image.unpack.LayerUnpacker;
import io.berth.agent.image.unpack.LayerUnpacker.UnsafeEntryException;
import io.berth.kernel.FileSystemCalls;
import io.berth.kernel.testing.Tar;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The unpacker on the real file system; the owner, device and trusted-xattr cases need root. */
class LayerUnpackerTest {
    @TempDir
    Path tmp;
    Path layer;
    Path outside;

    static void requireRoot() {
        boolean root = LayerUnpacker.runningAsRoot();
        if (!root && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("this test needs root, and CI=true: run the build as root");
        }
        Assumptions.assumeTrue(root, "needs root (owners, device nodes, trusted.* xattrs); skipped");
    }

    @BeforeEach
    void dirs() throws IOException {
        layer = Files.createDirectories(tmp.resolve("layer"));
        outside = Files.createDirectories(tmp.resolve("outside"));
    }

    private LayerUnpacker.Stats unpack(byte[] tar) throws IOException {
        return new LayerUnpacker(LayerUnpacker.runningAsRoot()).unpack(new ByteArrayInputStream(tar), layer);
    }

    /** Unpacks {@code lower} into its own directory and then {@code upper} above it. */
    private Path layered(byte[] lower, byte[] upper) throws IOException {
        Path lowerDir = Files.createDirectories(tmp.resolve("lower"));
        var unpacker = new LayerUnpacker(LayerUnpacker.runningAsRoot());
        unpacker.unpack(new ByteArrayInputStream(lower), lowerDir);
        unpacker.unpack(new ByteArrayInputStream(upper), layer, () -> List.of(lowerDir));
        return lowerDir;
    }

    @Test
    void anEntryUnderALowerSymlinkGoesWhereTheSymlinkPoints() throws IOException {
        // A merged-/usr base (lib -> usr/lib), then a layer that adds lib/x without a "lib" entry.
        Path lower = layered(new Tar().dir("usr/", 0755).dir("usr/lib/", 0750).symlink("lib", "usr/lib")
                .bytes(), new Tar().file("lib/x", "x").file("lib/sub/y", "y").bytes());
        assertFalse(Files.exists(layer.resolve("lib"), LinkOption.NOFOLLOW_LINKS),
                "no lib directory that would hide the lower symlink");
        assertEquals("x", Files.readString(layer.resolve("usr/lib/x")));
        assertEquals("y", Files.readString(layer.resolve("usr/lib/sub/y")));
        assertEquals(0750, (int) Files.getAttribute(layer.resolve("usr/lib"), "unix:mode") & 07777,
                "the copied-up directory keeps the lower one's mode");
        assertTrue(Files.isSymbolicLink(lower.resolve("lib")), "the lower layer is untouched");
    }

    @Test
    void aLowerSymlinkNeverLeadsOutOfTheLayer() throws IOException {
        // Absolute and ../ targets resolve inside the layer root, as they would in the container.
        layered(new Tar().symlink("abs", outside.toString()).symlink("up", "../../../..").bytes(),
                new Tar().file("abs/pwned", "a").file("up/etc/pwned", "b").bytes());
        assertEquals(0, Files.list(outside).count(), "nothing written outside");
        assertEquals("a", Files.readString(layer.resolve(outside.toString().substring(1)).resolve("pwned")));
        assertEquals("b", Files.readString(layer.resolve("etc/pwned")));
    }

    @Test
    void aWhiteoutedOrLoopingLowerSymlinkIsNotFollowed() throws IOException {
        Path lowerDir = Files.createDirectories(tmp.resolve("lower"));
        Path middle = Files.createDirectories(tmp.resolve("middle"));
        var unpacker = new LayerUnpacker(LayerUnpacker.runningAsRoot());
        unpacker.unpack(new ByteArrayInputStream(new Tar().dir("real/", 0755).symlink("gone", "real")
                .symlink("loop", "loop").bytes()), lowerDir);
        if (LayerUnpacker.runningAsRoot()) {
            // A middle layer deleted "gone" (a whiteout): the symlink below no longer exists.
            unpacker.unpack(new ByteArrayInputStream(new Tar().file(".wh.gone", "").bytes()), middle);
            unpacker.unpack(new ByteArrayInputStream(new Tar().file("gone/f", "f").bytes()), layer,
                    () -> List.of(middle, lowerDir));
            assertTrue(Files.isDirectory(layer.resolve("gone"), LinkOption.NOFOLLOW_LINKS), "a new directory");
            assertFalse(Files.exists(layer.resolve("real/f")));
        }
        var e = assertThrows(LayerUnpacker.UnsafeEntryException.class, () -> unpacker.unpack(
                new ByteArrayInputStream(new Tar().file("loop/f", "f").bytes()),
                Files.createDirectories(tmp.resolve("other")), () -> List.of(lowerDir)));
        assertTrue(e.getMessage().contains("'loop/f'") && e.getMessage().contains("ELOOP"), e.getMessage());
    }

    @Test
    void filesDirsSymlinksHardlinksModesAndMtimes() throws IOException {
        var stats = unpack(new Tar()
                .dir("bin/", 0755)
                .file("bin/busybox", 04755, 0, 0, "ELF".getBytes(StandardCharsets.UTF_8))
                .symlink("bin/sh", "busybox")
                .hardlink("bin/ls", "bin/busybox")
                .file("etc/motd", "hi\n")
                .bytes());
        assertEquals(5, stats.entries());
        assertEquals("ELF", Files.readString(layer.resolve("bin/busybox")));
        assertEquals(04755, (int) Files.getAttribute(layer.resolve("bin/busybox"), "unix:mode") & 07777,
                "setuid bit kept");
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(layer.resolve("bin/sh")));
        assertEquals(Files.getAttribute(layer.resolve("bin/busybox"), "unix:ino"),
                Files.getAttribute(layer.resolve("bin/ls"), "unix:ino"), "hard link shares the inode");
        assertEquals(1_700_000_000L, Files.getLastModifiedTime(layer.resolve("etc/motd")).toMillis() / 1000);
        assertEquals(1_700_000_000L, Files.getLastModifiedTime(layer.resolve("bin")).toMillis() / 1000,
                "directory mtime set after its children were written");
    }

    @Test
    void ownersDevicesAndXattrsAsRoot() throws IOException {
        requireRoot();
        unpack(new Tar()
                .file("home/app/data", 0600, 1234, 5678, "x".getBytes(StandardCharsets.UTF_8))
                .chardev("dev/null", 1, 3)
                .fileWithXattr("bin/ping", "ping", "security.capability", new byte[] {1, 0, 0, 2, 0, 32, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
                .fileWithXattr("etc/tagged", "t", "user.berth", "yes".getBytes(StandardCharsets.UTF_8))
                .bytes());
        assertEquals(1234, Files.getAttribute(layer.resolve("home/app/data"), "unix:uid"));
        assertEquals(5678, Files.getAttribute(layer.resolve("home/app/data"), "unix:gid"));
        assertEquals(makedev(1, 3), (long) Files.getAttribute(layer.resolve("dev/null"), "unix:rdev"));
        assertArrayEquals("yes".getBytes(StandardCharsets.UTF_8), FileSystemCalls.lgetxattr(layer.resolve("etc/tagged"),
                "user.berth"));
        assertEquals(20, FileSystemCalls.lgetxattr(layer.resolve("bin/ping"), "security.capability").length,
                "binary xattr value kept byte for byte");
    }

    @Test
    void whiteoutsBecomeOverlayWhiteoutsAndOpaqueDirs() throws IOException {
        requireRoot();
        unpack(new Tar()
                .file("etc/.wh.passwd", "")
                .file("var/cache/.wh..wh..opq", "")
                .file("var/cache/new", "n")
                .bytes());
        Path wh = layer.resolve("etc/passwd");
        assertEquals(020000, (int) Files.getAttribute(wh, "unix:mode") & 0170000, "a character device");
        assertEquals(0L, (long) Files.getAttribute(wh, "unix:rdev"), "device 0/0: overlayfs' whiteout");
        assertFalse(Files.exists(layer.resolve("etc/.wh.passwd")));
        assertArrayEquals("y".getBytes(StandardCharsets.US_ASCII),
                FileSystemCalls.lgetxattr(layer.resolve("var/cache"), "trusted.overlay.opaque"));
        assertFalse(Files.exists(layer.resolve("var/cache/.wh..wh..opq")));
    }

    @Test
    void dotDotIsRefusedNamingTheEntry() {
        var e = assertThrows(UnsafeEntryException.class, () -> unpack(new Tar()
                .file("../etc/passwd", "root::0:0::/:/bin/sh\n").bytes()));
        assertEquals("../etc/passwd", e.entry());
        assertTrue(e.getMessage().contains("'../etc/passwd'"), e.getMessage());
        assertNothingOutside();
    }

    @Test
    void absolutePathIsRefused() {
        var e = assertThrows(UnsafeEntryException.class, () -> unpack(new Tar()
                .file("/etc/passwd", "x").bytes()));
        assertTrue(e.getMessage().contains("absolute"), e.getMessage());
    }

    @Test
    void writingThroughASymlinkIsRefused() {
        var e = assertThrows(UnsafeEntryException.class, () -> unpack(new Tar()
                .symlink("escape", outside.toString())
                .file("escape/pwned", "x").bytes()));
        assertEquals("escape/pwned", e.entry());
        assertTrue(e.getMessage().contains("symlink 'escape'"), e.getMessage());
        assertNothingOutside();
    }

    @Test
    void relativeSymlinkEscapeIsRefusedToo() {
        assertThrows(UnsafeEntryException.class, () -> unpack(new Tar()
                .dir("a/", 0755)
                .symlink("a/up", "../../outside")
                .file("a/up/pwned", "x").bytes()));
        assertNothingOutside();
    }

    @Test
    void hardLinkEscapesAreRefused() throws IOException {
        Files.writeString(outside.resolve("secret"), "s");
        var e = assertThrows(UnsafeEntryException.class, () -> unpack(new Tar()
                .hardlink("stolen", "../outside/secret").bytes()));
        assertEquals("stolen", e.entry());
        assertThrows(UnsafeEntryException.class, () -> unpack(new Tar()
                .symlink("out", outside.toString())
                .hardlink("stolen2", "out/secret").bytes()));
        assertThrows(UnsafeEntryException.class, () -> unpack(new Tar()
                .hardlink("stolen3", outside.resolve("secret").toString()).bytes()));
        assertEquals(1, (int) Files.getAttribute(outside.resolve("secret"), "unix:nlink"));
    }

    @Test
    void symlinkTargetsThemselvesMayPointAnywhere() throws IOException {
        unpack(new Tar().symlink("etc/localtime", "/usr/share/zoneinfo/UTC").bytes());
        assertEquals(Path.of("/usr/share/zoneinfo/UTC"), Files.readSymbolicLink(layer.resolve("etc/localtime")));
    }

    @Test
    void laterEntryReplacesEarlierOne() throws IOException {
        unpack(new Tar().file("f", "one").symlink("f", "two").bytes());
        assertTrue(Files.isSymbolicLink(layer.resolve("f")));
    }

    @Test
    void laterEntriesReplaceFilesDirectoriesAndSymlinksOfTheSameName() throws IOException {
        unpack(new Tar()
                .file("a", "one").file("a", "two")                       // a file over a file
                .dir("d", 0755).file("d/child", "x").file("d", "now a file") // a file over a directory
                .file("e", "a file").dir("e", 0700)                       // a directory over a file
                .symlink("s", outside.resolve("secret").toString()).file("s", "mine") // not written through
                .bytes());
        assertEquals("two", Files.readString(layer.resolve("a")));
        assertEquals("now a file", Files.readString(layer.resolve("d")));
        assertTrue(Files.isDirectory(layer.resolve("e"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.isSymbolicLink(layer.resolve("s")));
        assertEquals("mine", Files.readString(layer.resolve("s")));
        assertFalse(Files.exists(outside.resolve("secret")), "nothing written through the symlink");
        assertNothingOutside();
    }

    @Test
    void truncatedTarFails() {
        byte[] full = new Tar().file("big", "x".repeat(5000)).bytes();
        byte[] cut = java.util.Arrays.copyOf(full, 2048);
        var e = assertThrows(IOException.class, () -> unpack(cut));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void longNamesViaPax() throws IOException {
        String name = "d/" + "n".repeat(150);
        unpack(new Tar().file(name, "long").bytes());
        assertEquals("long", Files.readString(layer.resolve(name)));
    }

    private void assertNothingOutside() {
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(0, s.filter(p -> !p.getFileName().toString().equals("secret")).count());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertFalse(Files.exists(tmp.resolve("etc"), LinkOption.NOFOLLOW_LINKS));
    }

    private static long makedev(long major, long minor) {
        return ((major & 0xfff) << 8) | (minor & 0xff);
    }
}
