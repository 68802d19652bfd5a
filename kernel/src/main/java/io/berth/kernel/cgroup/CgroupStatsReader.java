package io.berth.kernel.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
        long cpu = 0, user = 0, sys = 0;
        if (cpuacct != null) {
            cpu = number(cpuacct.resolve("cpuacct.usage"));
            Path u = cpuacct.resolve("cpuacct.usage_user");
            if (Files.exists(u)) {
                user = number(u);
                sys = number(cpuacct.resolve("cpuacct.usage_sys"));
            } else if (Files.exists(cpuacct.resolve("cpuacct.stat"))) {
                Map<String, Long> stat = flatKeyed(Files.readString(cpuacct.resolve("cpuacct.stat")));
                user = stat.getOrDefault("user", 0L) * (1_000_000_000L / USER_HZ);
                sys = stat.getOrDefault("system", 0L) * (1_000_000_000L / USER_HZ);
            }
        }
        long usage = 0, limit = 0, ws = 0, rss = 0, cache = 0, faults = 0, majors = 0, ooms = 0;
        if (memory != null) {
            usage = number(memory.resolve("memory.usage_in_bytes"));
            long l = number(memory.resolve("memory.limit_in_bytes"));
            limit = l >= V1_UNLIMITED ? 0 : l;
            Map<String, Long> stat = flatKeyed(Files.readString(memory.resolve("memory.stat")));
            // The total_* keys include descendants (memory.use_hierarchy is always 1 since Linux 5.x).
            ws = workingSet(usage, pick(stat, "total_inactive_file", "inactive_file"));
            rss = pick(stat, "total_rss", "rss");
            cache = pick(stat, "total_cache", "cache");
            faults = pick(stat, "total_pgfault", "pgfault");
            majors = pick(stat, "total_pgmajfault", "pgmajfault");
            Path oom = memory.resolve("memory.oom_control");
            ooms = Files.exists(oom) ? flatKeyed(Files.readString(oom)).getOrDefault("oom_kill", 0L) : 0;
        }
        long tasks = pids != null && Files.exists(pids.resolve("pids.current")) ? number(pids.resolve("pids.current")) : 0;
        return new CgroupStats(now, cpu, user, sys, usage, limit, ws, rss, cache, faults, majors, tasks, ooms);
    }

    private static CgroupStats readV2(Path dir, long now) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such cgroup");
        }
        long cpu = 0, user = 0, sys = 0;
        Path cpuStat = dir.resolve("cpu.stat");
        if (Files.exists(cpuStat)) {
            Map<String, Long> stat = flatKeyed(Files.readString(cpuStat));
            cpu = stat.getOrDefault("usage_usec", 0L) * 1000;
            user = stat.getOrDefault("user_usec", 0L) * 1000;
            sys = stat.getOrDefault("system_usec", 0L) * 1000;
        }
        long usage = 0, limit = 0, ws = 0, rss = 0, cache = 0, faults = 0, majors = 0, ooms = 0;
        Path current = dir.resolve("memory.current");
        if (Files.exists(current)) {
            usage = number(current);
            String max = Files.readString(dir.resolve("memory.max")).strip();
            limit = max.equals("max") ? 0 : Long.parseLong(max);
            Map<String, Long> stat = flatKeyed(Files.readString(dir.resolve("memory.stat")));
            ws = workingSet(usage, stat.getOrDefault("inactive_file", 0L));
            rss = stat.getOrDefault("anon", 0L);
            cache = stat.getOrDefault("file", 0L);
            faults = stat.getOrDefault("pgfault", 0L);
            majors = stat.getOrDefault("pgmajfault", 0L);
            Path events = dir.resolve("memory.events");
            ooms = Files.exists(events) ? flatKeyed(Files.readString(events)).getOrDefault("oom_kill", 0L) : 0;
        }
        Path pidsCurrent = dir.resolve("pids.current");
        long tasks = Files.exists(pidsCurrent) ? number(pidsCurrent) : 0;
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

    private static long pick(Map<String, Long> stat, String key, String fallback) {
        Long v = stat.get(key);
        return v != null ? v : stat.getOrDefault(fallback, 0L);
    }

    static long number(Path file) throws IOException {
        String s = Files.readString(file).strip();
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IOException(file + ": not a number: '" + s + "'", e);
        }
    }

    /** "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control, cpuacct.stat). */
    static Map<String, Long> flatKeyed(String text) {
        var out = new HashMap<String, Long>();
        for (String line : text.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp <= 0) continue;
            try {
                out.put(line.substring(0, sp), Long.parseLong(line.substring(sp + 1).strip()));
            } catch (NumberFormatException e) {
                // a key whose value is not one number (none of the ones read here)
            }
        }
        return out;
    }

    private static long nowNanos() {
        var i = java.time.Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
