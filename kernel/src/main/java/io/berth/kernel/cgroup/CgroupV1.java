package io.berth.kernel.cgroup;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * cgroup v1: one hierarchy per controller (or per group of controllers) mounted under the root,
 * e.g. /sys/fs/cgroup/memory. A cgroup is the same relative path in every hierarchy. The hybrid
 * layout's v2 mount ("unified") is not a v1 hierarchy and is skipped.
 * See Documentation/admin-guide/cgroup-v1/*.rst.
 */
final class CgroupV1 implements Cgroups {
    private final Path root;
    /** Controller name ("cpu", "memory", "name=systemd" as "systemd") to its hierarchy's mount dir. */
    private final Map<String, Path> hierarchies = new TreeMap<>();
    /** The root's symlinks to a hierarchy beside them ("cpu" -> "cpu,cpuacct"), by name. */
    private final Map<String, String> symlinks = new TreeMap<>();

    CgroupV1(Path root) throws IOException {
        this.root = root;
        // One lstat per entry (every shim does this once, interpreted): symlinks (cpu -> cpu,cpuacct)
        // point at a hierarchy listed under its real name, and are not directories to lstat.
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root)) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                var attributes = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (attributes.isSymbolicLink()) {
                    String target = Files.readSymbolicLink(p).toString();
                    if (!target.contains("/")) symlinks.put(name, target);
                }
                if (name.equals("unified") || !attributes.isDirectory()) {
                    continue;
                }
                for (String c : name.split(",")) {
                    hierarchies.put(c, p);
                }
            }
        }
    }

    @Override
    public boolean isV2() {
        return false;
    }

    List<Path> mounts() {
        return hierarchies.values().stream().distinct().toList();
    }

    @Override
    public Cgroup create(String path, Resources resources) throws IOException {
        Cgroups.validate(path);
        var cg = new V1Cgroup(path);
        for (Path mount : mounts()) {
            Files.createDirectories(mount.resolve(path.substring(1)));
        }
        Path cpuset = hierarchies.get("cpuset");
        if (cpuset != null) {
            initCpuset(cpuset, path);
        }
        cg.apply(resources);
        return cg;
    }

    /**
     * A new v1 cpuset cgroup starts with empty cpuset.cpus/mems and refuses tasks until they are set
     * (cgroup-v1/cpusets.rst), so copy them down from the parent level by level. Read from the leaf
     * up to the first level that has both: a cpuset's cpus and mems lie within its parent's, so
     * every level above that one has them too. Usually that is the container's parent, kubelet's
     * pod cgroup: four reads and two writes, where reading every level from the top took ~1.5 ms
     * of a shim's interpreted create.
     */
    private static void initCpuset(Path mount, String path) throws IOException {
        String[] parts = path.substring(1).split("/");
        var levels = new Path[parts.length + 1];
        levels[0] = mount;
        for (int i = 0; i < parts.length; i++) levels[i + 1] = levels[i].resolve(parts[i]);
        var cpus = new String[levels.length];
        var mems = new String[levels.length];
        int ready = levels.length - 1;
        for (; ready >= 0; ready--) {
            cpus[ready] = CgroupFiles.readStripped(levels[ready].resolve("cpuset.cpus"));
            mems[ready] = CgroupFiles.readStripped(levels[ready].resolve("cpuset.mems"));
            if (!cpus[ready].isEmpty() && !mems[ready].isEmpty()) break;
        }
        for (int i = Math.max(ready, 0) + 1; i < levels.length; i++) {
            if (cpus[i].isEmpty() && !cpus[i - 1].isEmpty()) {
                CgroupFiles.write(levels[i].resolve("cpuset.cpus"), cpus[i - 1]);
                cpus[i] = cpus[i - 1];
            }
            if (mems[i].isEmpty() && !mems[i - 1].isEmpty()) {
                CgroupFiles.write(levels[i].resolve("cpuset.mems"), mems[i - 1]);
                mems[i] = mems[i - 1];
            }
        }
    }

    @Override
    public void returnThread(int tid) throws IOException {
        // /proc/thread-self/cgroup: "ID:controller[,controller...]:/path" per v1 hierarchy, "0::/path" for v2.
        for (String line : Files.readAllLines(Path.of("/proc/thread-self/cgroup"))) {
            String[] f = line.split(":", 3);
            if (f.length < 3 || f[1].isEmpty()) continue;
            String first = f[1].split(",")[0];
            Path mount = hierarchies.get(first.startsWith("name=") ? first.substring(5) : first);
            if (mount != null) {
                CgroupFiles.write(mount.resolve(f[2].substring(1)).resolve("tasks"), Integer.toString(tid));
            }
        }
    }

    @Override
    public Cgroup open(String path) {
        Cgroups.validate(path);
        return new V1Cgroup(path);
    }

    private final class V1Cgroup implements Cgroup {
        private final String path;

        V1Cgroup(String path) {
            this.path = path;
        }

        private Path dir(String controller) {
            Path m = hierarchies.get(controller);
            return m == null ? null : m.resolve(path.substring(1));
        }

        @Override
        public String path() {
            return path;
        }

        @Override
        public void apply(Resources r) throws IOException {
            if (!r.unified().isEmpty()) {
                throw new IOException("cgroup " + path + ": unified (cgroup v2) resources " + r.unified().keySet()
                        + " cannot be applied on cgroup v1 at " + root);
            }
            Path cpu = dir("cpu");
            if (cpu != null) {
                if (r.cpuShares() > 0) CgroupFiles.write(cpu.resolve("cpu.shares"), Long.toString(r.cpuShares()));
                // The period first: the kernel validates quota against it.
                if (r.cpuPeriod() > 0) CgroupFiles.write(cpu.resolve("cpu.cfs_period_us"), Long.toString(r.cpuPeriod()));
                if (r.cpuQuota() != 0) CgroupFiles.write(cpu.resolve("cpu.cfs_quota_us"), Long.toString(r.cpuQuota()));
            }
            Path cpuset = dir("cpuset");
            if (cpuset != null) {
                if (!r.cpusetCpus().isEmpty()) CgroupFiles.write(cpuset.resolve("cpuset.cpus"), r.cpusetCpus());
                if (!r.cpusetMems().isEmpty()) CgroupFiles.write(cpuset.resolve("cpuset.mems"), r.cpusetMems());
            }
            Path memory = dir("memory");
            if (memory != null && r.memoryLimitBytes() > 0) {
                CgroupFiles.write(memory.resolve("memory.limit_in_bytes"), Long.toString(r.memoryLimitBytes()));
            }
            Path pids = dir("pids");
            if (pids != null && r.pidsLimit() > 0) {
                CgroupFiles.write(pids.resolve("pids.max"), Long.toString(r.pidsLimit()));
            }
            if (!r.hugepageLimits().isEmpty()) {
                Path hugetlb = dir("hugetlb");
                if (hugetlb == null) {
                    // kubelet sends a limit for every page size the node has, even with no hugetlb
                    // hierarchy mounted (this machine): nothing to enforce them with.
                    System.err.println("cgroup " + path + ": no hugetlb hierarchy under " + root + "; hugepage limits "
                            + r.hugepageLimits() + " not applied");
                } else {
                    for (var e : r.hugepageLimits().entrySet()) {
                        CgroupFiles.write(hugetlb.resolve("hugetlb." + e.getKey() + ".limit_in_bytes"),
                                Long.toString(e.getValue()));
                    }
                }
            }
        }

        @Override
        public void addProcess(int pid) throws IOException {
            for (Path m : mounts()) {
                CgroupFiles.write(m.resolve(path.substring(1)).resolve("cgroup.procs"), Integer.toString(pid));
            }
        }

        @Override
        public void addThread(int tid) throws IOException {
            for (Path m : mounts()) {
                CgroupFiles.write(m.resolve(path.substring(1)).resolve("tasks"), Integer.toString(tid));
            }
        }

        private Path listing() {
            Path p = dir("pids");
            if (p == null) p = dir("memory");
            if (p == null && !mounts().isEmpty()) p = mounts().getFirst().resolve(path.substring(1));
            return p;
        }

        @Override
        public List<Integer> pids() throws IOException {
            Path l = listing();
            return l == null ? List.of() : CgroupFiles.pidsBelow(l);
        }

        @Override
        public long oomKills() throws IOException {
            Path memory = dir("memory");
            return memory == null ? 0 : CgroupFiles.keyed(memory.resolve("memory.oom_control"), "oom_kill");
        }

        @Override
        public int signalAll(int signal) throws IOException {
            return CgroupFiles.signal(pids(), signal);
        }

        @Override
        public void remove(Duration timeout) throws IOException {
            // Empty the cgroup in the hierarchy we list pids from, then rmdir everywhere.
            var errors = new ArrayList<IOException>();
            Path l = listing();
            if (l != null) {
                try {
                    CgroupFiles.removeTree(l, timeout);
                } catch (IOException e) {
                    errors.add(e);
                }
            }
            for (Path m : mounts()) {
                try {
                    CgroupFiles.removeTree(m.resolve(path.substring(1)), timeout);
                } catch (IOException e) {
                    errors.add(e);
                }
            }
            if (!errors.isEmpty()) {
                var e = new IOException("remove cgroup " + path + ": " + errors.getFirst().getMessage());
                errors.forEach(e::addSuppressed);
                throw e;
            }
        }

        @Override
        public void allowDevicesOnly(List<DeviceRule> rules) throws IOException {
            Path devices = dir("devices");
            if (devices == null) {
                throw new IOException("cgroup " + path + ": no devices hierarchy under " + root);
            }
            CgroupFiles.write(devices.resolve("devices.deny"), "a");
            for (DeviceRule r : rules) {
                CgroupFiles.write(devices.resolve("devices.allow"), r.toString());
            }
        }

        @Override
        public boolean exists() {
            return mounts().stream().anyMatch(m -> Files.isDirectory(m.resolve(path.substring(1))));
        }

        @Override
        public List<ViewEntry> containerView() throws IOException {
            var view = new ArrayList<ViewEntry>();
            for (Path m : mounts()) {
                view.add(new ViewEntry(m.getFileName().toString(), m.resolve(path.substring(1)), null));
            }
            symlinks.forEach((name, target) -> view.add(new ViewEntry(name, null, target)));
            return view;
        }

        @Override
        public String toString() {
            return "cgroup v1 " + path;
        }
    }
}
