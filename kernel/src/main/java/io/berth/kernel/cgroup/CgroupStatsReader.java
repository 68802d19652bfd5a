package io.berth.kernel.cgroup;

import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads a cgroup's counters from cgroupfs: a handful of small files, no process is visited. The root
 * is a Path (STYLE.md §11), so tests lay out a v1 or v2 tree in a temp dir.
 *
 * <p>v1 (Documentation/admin-guide/cgroup-v1/{cpuacct,memory,pids}.rst): cpuacct.usage,
 * cpuacct.usage_user/usage_sys (else cpuacct.stat in USER_HZ ticks), memory.usage_in_bytes,
 * memory.limit_in_bytes, the hierarchical {@code total_*} keys of memory.stat,
 * memory.oom_control, pids.current. v2 (cgroup-v2.rst): cpu.stat, memory.current, memory.max,
 * memory.stat, memory.events, pids.current.
 */
public final class CgroupStatsReader {
    /**
     * v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages); any
     * value this large is no limit.
     */
    static final long V1_UNLIMITED = 1L << 62;
    /** USER_HZ, the unit of cpuacct.stat: 100 on every Linux architecture kubelet runs on (times(2)). */
    static final long USER_HZ = 100;

    private final Path root;
    private final boolean v2;
    /** v1: controller name to the directory its hierarchy is mounted on. */
    private final Map<String, Path> hierarchies;

    private CgroupStatsReader(Path root, boolean v2, Map<String, Path> hierarchies) {
        this.root = root;
        this.v2 = v2;
        this.hierarchies = hierarchies;
    }

    /** v2 when the root is a cgroup2 mount (has cgroup.controllers), else v1 hierarchies below it. */
    public static CgroupStatsReader detect(Path root) throws IOException {
        if (Files.exists(root.resolve("cgroup.controllers"))) {
            return new CgroupStatsReader(root, true, Map.of());
        }
        var found = new HashMap<String, Path>();
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.sorted().toList()) {
                String name = p.getFileName().toString();
                // "cpu,cpuacct" mounts serve both names; symlinks (cpu -> cpu,cpuacct) resolve the same way.
                if (!Files.isDirectory(p) || name.equals("unified")) {
                    continue;
                }
                for (String c : name.split(",")) {
                    found.putIfAbsent(c, p);
                }
            }
        }
        return new CgroupStatsReader(root, false, Map.copyOf(found));
    }

    public static CgroupStatsReader host() throws IOException {
        return detect(Cgroups.DEFAULT_ROOT);
    }

    public boolean isV2() {
        return v2;
    }

    /**
     * Reads the cgroup at {@code path} (as in {@link Cgroup#path()}). Throws NoSuchFileException when
     * the cgroup does not exist (never made, or removed after its tasks exited).
     */
    public CgroupStats read(String path) throws IOException {
        Cgroups.validate(path);
        long now = nowNanos();
        return v2 ? readV2(root.resolve(path.substring(1)), now) : readV1(path, now);
    }

    private CgroupStats readV1(String path, long now) throws IOException {
        Path memory = dir("memory", path);
        Path cpuacct = dir("cpuacct", path);
        Path pids = dir("pids", path);
        if ((memory == null || !Files.isDirectory(memory)) && (cpuacct == null || !Files.isDirectory(cpuacct))) {
            throw new NoSuchFileException(root + path, null, "no such cgroup in the memory or cpuacct hierarchy");
        }
        var f = new SmallFile();
        long cpu = 0, user = 0, sys = 0;
        if (cpuacct != null) {
            cpu = f.number(cpuacct.resolve("cpuacct.usage"));
            if (f.read(cpuacct.resolve("cpuacct.usage_user"))) {
                user = f.number();
                sys = f.number(cpuacct.resolve("cpuacct.usage_sys"));
            } else if (f.read(cpuacct.resolve("cpuacct.stat"))) {
                long[] v = f.values(CPUACCT_STAT);
                user = Math.max(v[0], 0) * (1_000_000_000L / USER_HZ);
                sys = Math.max(v[1], 0) * (1_000_000_000L / USER_HZ);
            }
        }
        long usage = 0, limit = 0, ws = 0, rss = 0, cache = 0, faults = 0, majors = 0, ooms = 0;
        if (memory != null) {
            usage = f.number(memory.resolve("memory.usage_in_bytes"));
            long l = f.number(memory.resolve("memory.limit_in_bytes"));
            limit = l >= V1_UNLIMITED ? 0 : l;
            f.require(memory.resolve("memory.stat"));
            // The total_* keys include descendants (memory.use_hierarchy is always 1 since Linux 5.x);
            // each is followed by the cgroup's own key, the fallback.
            long[] v = f.values(V1_MEMORY_STAT);
            ws = workingSet(usage, pick(v, 0));
            rss = pick(v, 2);
            cache = pick(v, 4);
            faults = pick(v, 6);
            majors = pick(v, 8);
            ooms = f.read(memory.resolve("memory.oom_control")) ? Math.max(f.values(OOM_KILL)[0], 0) : 0;
        }
        long tasks = pids != null && f.read(pids.resolve("pids.current")) ? f.number() : 0;
        return new CgroupStats(now, cpu, user, sys, usage, limit, ws, rss, cache, faults, majors, tasks, ooms);
    }

    private static CgroupStats readV2(Path dir, long now) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such cgroup");
        }
        var f = new SmallFile();
        long cpu = 0, user = 0, sys = 0;
        if (f.read(dir.resolve("cpu.stat"))) {
            long[] v = f.values(V2_CPU_STAT);
            cpu = Math.max(v[0], 0) * 1000;
            user = Math.max(v[1], 0) * 1000;
            sys = Math.max(v[2], 0) * 1000;
        }
        long usage = 0, limit = 0, ws = 0, rss = 0, cache = 0, faults = 0, majors = 0, ooms = 0;
        if (f.read(dir.resolve("memory.current"))) {
            usage = f.number();
            f.require(dir.resolve("memory.max"));
            limit = f.isMax() ? 0 : f.number();
            f.require(dir.resolve("memory.stat"));
            long[] v = f.values(V2_MEMORY_STAT);
            ws = workingSet(usage, Math.max(v[0], 0));
            rss = Math.max(v[1], 0);
            cache = Math.max(v[2], 0);
            faults = Math.max(v[3], 0);
            majors = Math.max(v[4], 0);
            ooms = f.read(dir.resolve("memory.events")) ? Math.max(f.values(OOM_KILL)[0], 0) : 0;
        }
        long tasks = f.read(dir.resolve("pids.current")) ? f.number() : 0;
        return new CgroupStats(now, cpu, user, sys, usage, limit, ws, rss, cache, faults, majors, tasks, ooms);
    }

    /** usage − inactive_file, never negative (cadvisor's setMemoryStats does the same floor). */
    static long workingSet(long usage, long inactiveFile) {
        return usage < inactiveFile ? 0 : usage - inactiveFile;
    }

    private Path dir(String controller, String path) {
        Path mount = hierarchies.get(controller);
        return mount == null ? null : mount.resolve(path.substring(1));
    }

    /** The hierarchical key at {@code i} if the file has it, else the cgroup's own at i + 1, else 0. */
    private static long pick(long[] values, int i) {
        return values[i] >= 0 ? values[i] : Math.max(values[i + 1], 0);
    }

    private static final byte[][] CPUACCT_STAT = keys("user", "system");
    private static final byte[][] V1_MEMORY_STAT = keys("total_inactive_file", "inactive_file", "total_rss", "rss",
            "total_cache", "cache", "total_pgfault", "pgfault", "total_pgmajfault", "pgmajfault");
    private static final byte[][] V2_CPU_STAT = keys("usage_usec", "user_usec", "system_usec");
    private static final byte[][] V2_MEMORY_STAT = keys("inactive_file", "anon", "file", "pgfault", "pgmajfault");
    private static final byte[][] OOM_KILL = keys("oom_kill");

    private static byte[][] keys(String... names) {
        var out = new byte[names.length][];
        for (int i = 0; i < names.length; i++) out[i] = names[i].getBytes(StandardCharsets.US_ASCII);
        return out;
    }

    /**
     * One small cgroup file at a time, read whole into a buffer and parsed as bytes. A shim reads a
     * dozen of these for every stats sample it pushes, interpreted (its JIT compiles next to
     * nothing), so the reading is kept to a FileInputStream and loops over bytes: no channels,
     * strings, splitting or maps.
     */
    static final class SmallFile {
        private byte[] buf = new byte[4096];
        private int len;
        private Path path;

        /** Reads {@code file}; false when it does not exist. */
        boolean read(Path file) throws IOException {
            path = file;
            len = 0;
            try (var in = new FileInputStream(file.toString())) {
                int r;
                while ((r = in.read(buf, len, buf.length - len)) > 0) {
                    len += r;
                    if (len == buf.length) buf = Arrays.copyOf(buf, len * 2);
                }
                return true;
            } catch (FileNotFoundException e) {
                if (Files.exists(file)) throw e; // there, but not readable
                return false;
            }
        }

        void require(Path file) throws IOException {
            if (!read(file)) throw new NoSuchFileException(file.toString());
        }

        long number(Path file) throws IOException {
            require(file);
            return number();
        }

        /** The file read last, as one decimal number (surrounding whitespace ignored). */
        long number() throws IOException {
            int from = 0, to = len;
            while (from < to && buf[from] <= ' ') from++;
            while (to > from && buf[to - 1] <= ' ') to--;
            long v = digits(from, to);
            if (v < 0) {
                throw new IOException(path + ": not a number: '" + new String(buf, from, to - from, StandardCharsets.US_ASCII) + "'");
            }
            return v;
        }

        /** Whether the file read last says "max" (cgroup v2's no limit). */
        boolean isMax() {
            int from = 0, to = len;
            while (to > from && buf[to - 1] <= ' ') to--;
            return to - from == 3 && buf[0] == 'm' && buf[1] == 'a' && buf[2] == 'x';
        }

        /** In {@link #values}: the file has no line for the key. */
        static final long ABSENT = -1;
        /** In {@link #values}: the key's line holds no single decimal number. */
        static final long GARBLED = -2;

        /**
         * The values of "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control,
         * cpuacct.stat) of the file read last, in the order of {@code keys}; {@link #ABSENT} or
         * {@link #GARBLED} (both negative) where there is none.
         */
        long[] values(byte[][] keys) {
            long[] out = new long[keys.length];
            Arrays.fill(out, ABSENT);
            int at = 0;
            while (at < len) {
                int end = at;
                while (end < len && buf[end] != '\n') end++;
                int space = at;
                while (space < end && buf[space] != ' ') space++;
                int valueEnd = end;
                while (valueEnd > space + 1 && buf[valueEnd - 1] <= ' ') valueEnd--;
                for (int k = 0; k < keys.length; k++) {
                    if (out[k] == ABSENT && space - at == keys[k].length && Arrays.equals(buf, at, space, keys[k], 0, space - at)) {
                        long v = digits(space + 1, valueEnd);
                        out[k] = v < 0 ? GARBLED : v;
                        break;
                    }
                }
                at = end + 1;
            }
            return out;
        }

        /** The non-negative decimal number in buf[from, to), or -1 if it is not one. */
        private long digits(int from, int to) {
            if (from >= to || to - from > 19) return -1;
            long v = 0;
            for (int i = from; i < to; i++) {
                int d = buf[i] - '0';
                if (d < 0 || d > 9) return -1;
                v = v * 10 + d;
            }
            return v;
        }
    }

    private static long nowNanos() {
        var i = java.time.Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
