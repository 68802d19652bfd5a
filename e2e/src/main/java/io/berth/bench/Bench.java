package io.berth.bench;

import io.berth.e2e.AgentProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The benchmark harness: {@code bin/bench [SUITE...]} runs the named suites (default: all) and
 * prints one table of figures. Targets belong here, printed beside the figures, never in tests.
 */
public final class Bench {
    static final List<Suite> SUITES = List.of(new AgentSuite(), new NetSuite(), new ImageSuite(), new ShimSuite(), new PodSuite(),
            new StreamingSuite(), new StatsSuite(), new ContainerdSuite());

    public static void main(String[] args) throws Exception {
        var chosen = new ArrayList<Suite>();
        for (Suite s : SUITES) {
            if (args.length == 0 || List.of(args).contains(s.name())) {
                chosen.add(s);
            }
        }
        if (chosen.isEmpty()) {
            System.err.println("bench: no suite named " + String.join(", ", args) + "; suites: "
                    + String.join(", ", SUITES.stream().map(Suite::name).toList()));
            System.exit(2);
        }
        var figures = new Figures();
        Path scratch = Files.createTempDirectory("berth-bench-");
        try {
            for (Suite s : chosen) {
                System.err.println("bench: running " + s.name());
                s.run(scratch.resolve(s.name()), figures);
            }
        } finally {
            try {
                deleteTree(scratch);
            } catch (Exception e) {
                // A failed suite may leave pods (and their namespace pins) behind: say so, but
                // never in place of the failure itself.
                System.err.println("bench: could not remove " + scratch + ": " + e);
            }
        }
        compareWithContainerd(figures);
        System.out.print(figures.table());
    }

    /**
     * berth's figure over containerd's, for each figure both measured in this run (the image or
     * pods suite with the containerd suite): the issues state their targets against containerd
     * "here", and a figure from the same run and hour is the fair one to set beside berth's.
     */
    static void compareWithContainerd(Figures figures) {
        String p = ContainerdSuite.PREFIX;
        String[][] pairs = { // berth's row, containerd's, the comparison's name, its target
            {ImageSuite.COLD_SMALL, p + ImageSuite.COLD_SMALL, "cold pull ~5 MB", "target <= 0.5"},
            {ImageSuite.COLD_BIG_SETTLED, ContainerdSuite.COLD_BIG, "cold pull ~50 MB (berth's JIT settled)", ""},
            {ImageSuite.WARM_BY_DIGEST, ContainerdSuite.WARM_BY_DIGEST, "warm pull by digest", ""},
            {PodSuite.BURST, p + PodSuite.BURST, "pod start, back to back", ""},
            {PodSuite.PACED_ROW, p + PodSuite.PACED_ROW, "pod start, paced", ""},
            {PodSuite.EXEC, p + PodSuite.EXEC, "ExecSync true", ""},
            {PodSuite.STOP, p + PodSuite.STOP, "StopContainer", ""},
        };
        for (String[] pair : pairs) {
            Figures.Row ours = figures.row(pair[0]);
            Figures.Row theirs = figures.row(pair[1]);
            if (ours != null && theirs != null) {
                figures.value("berth / containerd: " + pair[2], "x", ours.median() / theirs.median(),
                        String.format(java.util.Locale.ROOT, "medians %.1f / %.1f ms%s", ours.median(), theirs.median(),
                                pair[3].isEmpty() ? "" : "; " + pair[3]));
            }
        }
    }

    /** USER_HZ, the unit of /proc/PID/stat utime and stime (proc(5)). */
    static final long CLK_TCK = 100;

    /** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
    static long cpuTicks(long pid) throws Exception {
        var stat = io.berth.kernel.Processes.stat(pid);
        return stat.number(14) + stat.number(15);
    }

    /**
     * {@link #cpuTicks} plus the CPU of the children it has waited for (cutime + cstime, fields 16
     * and 17): containerd decompresses layers in {@code unpigz} processes when that is installed.
     */
    static long cpuTicksWithChildren(long pid) throws Exception {
        var stat = io.berth.kernel.Processes.stat(pid);
        return stat.number(14) + stat.number(15) + stat.number(16) + stat.number(17);
    }

    /** The pids of the shims of {@code containers} ({@link AgentProcess#shimPid}). */
    static List<Long> shimPids(AgentProcess agent, List<String> containers) throws Exception {
        var pids = new ArrayList<Long>();
        for (String id : containers) {
            pids.add(agent.shimPid(id));
        }
        return pids;
    }

    /** stime of a process, its CPU in the kernel, in clock ticks (field 15 of /proc/PID/stat). */
    static long systemTicks(long pid) throws Exception {
        return io.berth.kernel.Processes.stat(pid).number(15);
    }

    /**
     * Warms both ends of the CRI socket before anything is timed: 2000 Version calls. The bench's
     * client is a JVM whose first calls run interpreted (a Version round trip took ~4.5 ms for the
     * first few hundred here, ~1.3 ms after a couple of thousand); kubelet's client is compiled Go,
     * and a node's agent has answered it for a while.
     */
    static void warmClient(io.berth.e2e.CriClient cri) {
        for (int i = 0; i < 2000; i++) {
            cri.runtime().version(io.berth.cri.v1.VersionRequest.getDefaultInstance());
        }
    }

    static void deleteTree(Path root) throws Exception {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * A suite's cgroup parent in every hierarchy (rmdir, deepest first), emptied by its pods'
     * removal. Runs in a suite's finally: a cgroup still in use (the suite failed before removing
     * its pods) is reported on stderr rather than thrown over the suite's own failure.
     */
    static void removeCgroupParent(String parent) throws Exception {
        try {
            io.berth.e2e.fixtures.CgroupParent.remove(parent);
        } catch (java.io.IOException e) {
            System.err.println("bench: could not remove cgroup parent " + parent + ": " + e);
        }
    }
}
