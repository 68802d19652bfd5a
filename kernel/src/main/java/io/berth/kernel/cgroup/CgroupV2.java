package io.berth.kernel.cgroup;

import io.berth.kernel.Bpf;
import io.berth.kernel.Fd;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;

/** cgroup v2: one unified hierarchy (Documentation/admin-guide/cgroup-v2.rst). */
final class CgroupV2 implements Cgroups {
    private static final List<String> WANTED = List.of("cpuset", "cpu", "io", "memory", "hugetlb", "pids");
    private final Path root;

    CgroupV2(Path root) {
        this.root = root;
    }

    @Override
    public boolean isV2() {
        return true;
    }

    @Override
    public Cgroup create(String path, Resources resources) throws IOException {
        Cgroups.validate(path);
        // Controllers must be enabled in every ancestor's cgroup.subtree_control ("no internal
        // process" rule: the shim's cgroup is not an ancestor, so this is allowed).
        Set<String> available = Set.of(CgroupFiles.readStripped(root.resolve("cgroup.controllers")).split("\\s+"));
        var enable = new ArrayList<String>();
        for (String c : WANTED) {
            if (available.contains(c)) enable.add("+" + c);
        }
        Path dir = root;
        for (String part : path.substring(1).split("/")) {
            if (!enable.isEmpty()) {
                String current = CgroupFiles.readStripped(dir.resolve("cgroup.subtree_control"));
                if (!enable.stream().allMatch(e -> current.contains(e.substring(1)))) {
                    CgroupFiles.write(dir.resolve("cgroup.subtree_control"), String.join(" ", enable));
                }
            }
            dir = dir.resolve(part);
            Files.createDirectories(dir);
        }
        var cg = new V2Cgroup(path);
        cg.apply(resources);
        return cg;
    }

    @Override
    public void returnThread(int tid) {
        throw new UnsupportedOperationException("cgroup v2 cannot move a single thread of a domain cgroup");
    }

    @Override
    public Cgroup open(String path) {
        Cgroups.validate(path);
        return new V2Cgroup(path);
    }

    /** cpu.shares (2..262144) to cpu.weight (1..10000), the conversion runc and the kubelet use. */
    static long sharesToWeight(long shares) {
        return 1 + ((shares - 2) * 9999) / 262142;
    }

    private final class V2Cgroup implements Cgroup {
        private final String path;
        private final Path dir;

        V2Cgroup(String path) {
            this.path = path;
            this.dir = root.resolve(path.substring(1));
        }

        @Override
        public String path() {
            return path;
        }

        /**
         * Writes the set limits. Every file is checked first, so that a limit whose controller is
         * not enabled here refuses the whole update, not what follows the files already written.
         */
        @Override
        public void apply(Resources r) throws IOException {
            var writes = new LinkedHashMap<String, String>();
            if (r.cpuShares() > 0) writes.put("cpu.weight", Long.toString(sharesToWeight(r.cpuShares())));
            if (r.cpuQuota() != 0 || r.cpuPeriod() > 0) {
                long period = r.cpuPeriod() > 0 ? r.cpuPeriod() : 100000;
                writes.put("cpu.max", (r.cpuQuota() > 0 ? Long.toString(r.cpuQuota()) : "max") + " " + period);
            }
            if (!r.cpusetCpus().isEmpty()) writes.put("cpuset.cpus", r.cpusetCpus());
            if (!r.cpusetMems().isEmpty()) writes.put("cpuset.mems", r.cpusetMems());
            if (r.memoryLimitBytes() > 0) writes.put("memory.max", Long.toString(r.memoryLimitBytes()));
            if (r.pidsLimit() > 0) writes.put("pids.max", Long.toString(r.pidsLimit()));
            boolean real = Files.exists(dir.resolve("cgroup.controllers"));
            for (var e : r.hugepageLimits().entrySet()) {
                // kubelet sends a limit for every page size the node has, hugetlb controller or not
                // (as on v1, where the limits are then not applied).
                String file = "hugetlb." + e.getKey() + ".max";
                if (!real || Files.exists(dir.resolve(file))) writes.put(file, Long.toString(e.getValue()));
            }
            for (var e : r.unified().entrySet()) {
                if (e.getKey().contains("/") || e.getKey().startsWith(".")) {
                    throw new IOException("cgroup " + path + ": invalid unified key " + e.getKey());
                }
                writes.put(e.getKey(), e.getValue());
            }
            if (real) {
                for (var w : writes.entrySet()) {
                    requireFile(w.getKey(), w.getValue());
                }
            }
            for (var w : writes.entrySet()) {
                CgroupFiles.write(dir.resolve(w.getKey()), w.getValue());
            }
        }

        /**
         * In a real cgroup (one with cgroup.controllers) a file that is missing belongs to a
         * controller not enabled for it, which is said by name rather than as "No such file".
         */
        private void requireFile(String file, String value) throws IOException {
            if (!Files.exists(dir.resolve(file))) {
                String controller = file.contains(".") ? file.substring(0, file.indexOf('.')) : file;
                throw new IOException("cgroup " + path + ": cannot set " + file + " to " + value + ": the " + controller
                        + " " + CONTROLLER_NOT_ENABLED + " (cgroup.controllers: '"
                        + Files.readString(dir.resolve("cgroup.controllers")).strip() + "')");
            }
        }

        @Override
        public void addProcess(int pid) throws IOException {
            CgroupFiles.write(dir.resolve("cgroup.procs"), Integer.toString(pid));
        }

        @Override
        public void addThread(int tid) {
            throw new UnsupportedOperationException("cgroup v2 cannot move a single thread of a domain cgroup");
        }

        @Override
        public List<Integer> pids() throws IOException {
            return CgroupFiles.pidsBelow(dir);
        }

        @Override
        public long oomKills() throws IOException {
            return CgroupFiles.keyed(dir.resolve("memory.events"), "oom_kill");
        }

        @Override
        public int signalAll(int signal) throws IOException {
            return CgroupFiles.signal(pids(), signal);
        }

        @Override
        public void remove(Duration timeout) throws IOException {
            Path kill = dir.resolve("cgroup.kill");
            if (Files.exists(kill)) {
                // Linux 5.14+: kills the whole subtree atomically, no pid races.
                try {
                    CgroupFiles.write(kill, "1");
                } catch (IOException e) {
                    // fall through to per-pid kills
                }
            }
            CgroupFiles.removeTree(dir, timeout);
        }

        /**
         * Attaches the program for {@code rules} with BPF_F_ALLOW_MULTI, as runc does: the programs
         * of the ancestors (a pod's, a node agent's) still run, and each can only deny more. Programs
         * this cgroup held before (a retried create) are detached after, so one of ours is in force
         * and there is no moment without one. The program's fd is closed on return: an attached
         * program is held by the cgroup itself until it is detached or the cgroup is freed
         * (kernel/bpf/cgroup.c, cgroup_bpf_release), so nothing has to keep it open or pin it in
         * bpffs while the container runs.
         */
        @Override
        public void allowDevicesOnly(List<DeviceRule> rules) throws IOException {
            byte[] program = DeviceFilter.compile(rules);
            try (Fd cg = Syscalls.open(dir, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY);
                    Fd prog = Bpf.loadProgram(Bpf.BPF_PROG_TYPE_CGROUP_DEVICE, Bpf.BPF_CGROUP_DEVICE, program,
                            DeviceFilter.LICENSE, "berth_devices")) {
                int[] before = Bpf.query(cg, Bpf.BPF_CGROUP_DEVICE);
                Bpf.attach(cg, prog, Bpf.BPF_CGROUP_DEVICE, Bpf.BPF_F_ALLOW_MULTI);
                for (int id : before) {
                    try (Fd old = Bpf.programById(id)) {
                        Bpf.detach(cg, old, Bpf.BPF_CGROUP_DEVICE);
                    }
                }
            } catch (SyscallException e) {
                throw new IOException("cgroup " + path + ": device program for " + rules + ": " + e.getMessage(), e);
            }
        }

        @Override
        public boolean exists() {
            return Files.isDirectory(dir);
        }

        @Override
        public List<ViewEntry> containerView() {
            return List.of(new ViewEntry("", dir, null));
        }

        @Override
        public String toString() {
            return "cgroup v2 " + path;
        }
    }
}
