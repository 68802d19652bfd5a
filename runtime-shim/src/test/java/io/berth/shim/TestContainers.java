package io.berth.shim;

import io.berth.kernel.cgroup.Cgroups;
import io.berth.shim.api.CgroupSpec;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.NamespaceRef;
import io.berth.shim.api.ProcessSpec;
import io.berth.shim.api.Rootfs;
import io.berth.shim.api.ShimClient;
import io.berth.shim.api.ShimLauncher;
import io.berth.shim.api.State;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Real containers for the integration tests, started exactly as the agent will: a busybox rootfs
 * (Debian's busybox-static) as the single image layer, a spec, ShimLauncher, ShimClient.
 */
final class TestContainers implements AutoCloseable {
    static final Path SHIM_LIB = Path.of(System.getProperty("berth.shimLib", "target/shim-lib")).toAbsolutePath();
    static final List<String> APPLETS = List.of("sh", "ls", "cat", "echo", "sleep", "id", "hostname", "mount", "chown",
            "touch", "wc", "dd", "head", "tail", "yes", "env", "ps", "true", "false", "kill", "tty", "pwd", "grep", "cut", "mkdir", "rm", "tr");

    final Path dir;
    final Path layer;
    final String cgroupParent = "/berth-test-" + UUID.randomUUID().toString().substring(0, 8);
    private final List<Path> bundles = new ArrayList<>();

    TestContainers(Path dir) throws IOException {
        this.dir = dir;
        this.layer = dir.resolve("layer");
        Path bin = layer.resolve("bin");
        Files.createDirectories(bin);
        Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
        for (String a : APPLETS) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("etc", "tmp", "proc", "sys", "dev", "root", "home/user")) {
            Files.createDirectories(layer.resolve(d));
        }
        Files.writeString(layer.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
        Files.writeString(layer.resolve("etc/group"), "root:x:0:\nuser:x:1000:\nextra:x:1001:user\n");
        Files.writeString(layer.resolve("etc/motd"), "from the image\n");
    }

    /** A spec with new PID, mount, IPC, UTS and network namespaces, running {@code sh -c script}. */
    ContainerSpec.Builder spec(String id, String script) throws IOException {
        Path bundle = dir.resolve("bundles").resolve(id);
        Files.createDirectories(bundle);
        Path upper = bundle.resolve("upper");
        Path work = bundle.resolve("work");
        Files.createDirectories(upper);
        Files.createDirectories(work);
        var b = ContainerSpec.newBuilder().setId(id).setBundle(bundle.toString()).setHostname("c-" + id)
                .setRootfs(Rootfs.newBuilder().addLowerDirs(layer.toString()).setUpperDir(upper.toString())
                        .setWorkDir(work.toString()))
                .setProcess(ProcessSpec.newBuilder().addArgs("sh").addArgs("-c").addArgs(script)
                        .addEnv("PATH=/bin").addEnv("HOME=/root").setCwd("/")
                        .addAllCapabilities(List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                                "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")))
                .setCgroup(CgroupSpec.newBuilder().setParent(cgroupParent).setName(id))
                .setLogPath(bundle.resolve("ctr.log").toString());
        for (var t : List.of(NamespaceRef.Type.PID, NamespaceRef.Type.MOUNT, NamespaceRef.Type.IPC,
                NamespaceRef.Type.UTS, NamespaceRef.Type.NET)) {
            b.addNamespaces(NamespaceRef.newBuilder().setType(t));
        }
        return b;
    }

    ShimClient launch(ContainerSpec spec) throws Exception {
        return launch(spec, true);
    }

    /** Launches the container's shim, sharing memory with other shims or not (ShimJvm). */
    ShimClient launch(ContainerSpec spec, boolean shareMemory) throws Exception {
        Path bundle = Path.of(spec.getBundle());
        bundles.add(bundle);
        return ShimLauncher.launch(SHIM_LIB, bundle, spec, shareMemory);
    }

    /** The pid of the shim of container {@code id} (its shim.pid: "PID STARTTIME"). */
    long shimPid(String id) throws IOException {
        return Long.parseLong(Files.readString(bundle(id).resolve(ShimClient.PID)).split(" ")[0]);
    }

    void track(Path bundle) {
        bundles.add(bundle);
    }

    Path bundle(String id) {
        return dir.resolve("bundles").resolve(id);
    }

    /** Waits for the container to exit and returns its final state. */
    static State awaitExit(ShimClient c, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            State s = c.state();
            if (s.getStatus() == State.Status.EXITED) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("container did not exit within " + timeout + ": " + s + "\nshim.log:\n"
                        + Files.readString(c.bundle().resolve("shim.log")) + "\nps:\n" + ps());
            }
            Thread.sleep(10);
        }
    }

    static String ps() throws Exception {
        var p = new ProcessBuilder("ps", "-eo", "pid,ppid,stat,wchan:30,args").redirectErrorStream(true).start();
        return new String(p.getInputStream().readAllBytes());
    }

    static String log(ShimClient c) throws IOException {
        return Files.readString(c.bundle().resolve("ctr.log"));
    }

    /** Waits until the log contains {@code text}. */
    static String awaitLog(ShimClient c, String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Path f = c.bundle().resolve("ctr.log");
            String s = Files.exists(f) ? Files.readString(f) : "";
            if (s.contains(text)) return s;
            if (System.nanoTime() > deadline) throw new AssertionError("log never contained '" + text + "': " + s);
            Thread.sleep(10);
        }
    }

    /** Removes every container and the test's cgroup parent; then nothing of this test may remain. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Path b : bundles) {
            try {
                ShimLauncher.cleanup(b);
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        Cgroups.host().open(cgroupParent).remove(Duration.ofSeconds(10));
        if (first != null) throw first;
    }

    /** Mount points of this test still in the host's mount table (must be none). */
    List<String> leftoverMounts() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().filter(l -> l.contains(dir.toString())).toList();
    }

    /** cgroup directories of this test left in any v1 hierarchy (must be none). */
    List<Path> leftoverCgroups() throws IOException {
        var out = new ArrayList<Path>();
        try (var s = Files.list(Cgroups.DEFAULT_ROOT)) {
            for (Path h : s.toList()) {
                Path d = h.resolve(cgroupParent.substring(1));
                if (Files.exists(d)) out.add(d);
            }
        }
        return out;
    }
}
