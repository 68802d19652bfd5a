package io.berth.kernel.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetDevTest {
    @TempDir
    Path dir;

    @Test
    void parsesProcNetDev() throws Exception {
        Files.writeString(dir.resolve("dev"), """
                Inter-|   Receive                                                |  Transmit
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
                  eth0: 1234567    8901    1    2    0     0          0         0   765432     4321    3    4    0     0       0          0
                """);
        var ifs = NetDev.read(dir.resolve("dev"));
        assertEquals(2, ifs.size());
        assertEquals(new NetDev.Interface("lo", 140, 2, 0, 0, 140, 2, 0, 0), ifs.get(0));
        assertEquals(new NetDev.Interface("eth0", 1234567, 8901, 1, 2, 765432, 4321, 3, 4), ifs.get(1));
    }

    @Test
    void linesWithoutSixteenCountersAreSkipped() {
        var ifs = NetDev.parse("""
                short: 1 2 3
                word: 1 2 3 4 5 6 7 8 x 10 11 12 13 14 15 16
                last:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16""");
        assertEquals(java.util.List.of(new NetDev.Interface("last", 1, 2, 3, 4, 9, 10, 11, 12)), ifs);
    }

    @Test
    void diskUsageCountsBytesAndInodesOnceEach() throws Exception {
        Path upper = dir.resolve("upper");
        Files.createDirectories(upper.resolve("etc"));
        Files.write(upper.resolve("etc/a"), new byte[1000]);
        Files.write(upper.resolve("b"), new byte[24]);
        Files.createLink(upper.resolve("b-link"), upper.resolve("b"));
        var u = DiskUsage.of(upper);
        assertEquals(1024, u.bytes());
        assertEquals(4, u.inodes(), "upper, etc, a, b (the hard link is the same inode)");
        assertEquals(0, DiskUsage.of(dir.resolve("missing")).inodes());
    }
}
