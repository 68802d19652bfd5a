package io.berth.bench;

import io.berth.cri.v1.StatusRequest;
import io.berth.e2e.CriClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's containerd (with its CRI plugin, runc and the CNI plugins) run by the bench as a
 * reference beside berth: its own root, state, socket, CNI network and registry configuration
 * under a scratch directory, so that it shares nothing with a containerd the node may run. On
 * close it stops the daemon and removes what a failed run may have left: runc's containers of its
 * bundles, the shims serving its socket (by pid) and their sockets, mounts under its directory,
 * the pods' network namespaces, the bridge plugin's NAT rules and the bridge.
 */
final class Containerd implements AutoCloseable {
    /** containerd's fixed run directory (shim sockets, runc state): removed on close if it was not there before. */
    private static final Path RUN = Path.of("/run/containerd");
    /** Where containerd's runc v2 shims keep runc's state for the CRI namespace. */
    private static final String RUNC_ROOT = "/run/containerd/runc/k8s.io";
    /** The CRI namespace's task bundles, under containerd's state directory. */
    private static final String TASKS = "state/io.containerd.runtime.v2.task/k8s.io";

    private final Path dir;
    private final Path socket;
    private final String bridge;
    private final Process process;
    private final CriClient client;
    private final boolean runExisted;

    private Containerd(Path dir, Path socket, String bridge, Process process, boolean runExisted) {
        this.dir = dir;
        this.socket = socket;
        this.bridge = bridge;
        this.process = process;
        this.client = new CriClient(socket);
        this.runExisted = runExisted;
    }

    /** True when containerd, runc and the CNI bridge plugin are installed. */
    static boolean installed() {
        return ImageSuite.onPath("containerd") && ImageSuite.onPath("runc") && Files.isExecutable(Path.of("/usr/lib/cni/bridge"));
    }

    /**
     * Starts containerd in {@code dir}: pods get {@code sandboxImage} and a bridge named
     * {@code bridge} on {@code subnet} (host-local IPAM kept in {@code dir}), images come from the
     * plain-HTTP registry {@code registryHost} (host:port). Returns once its CRI reports the
     * runtime and the network ready.
     */
    static Containerd start(Path dir, String sandboxImage, String registryHost, String bridge, String subnet)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path socket = dir.resolve("containerd.sock");
        Path cni = Files.createDirectories(dir.resolve("cni"));
        // The shape of containerd's own example network (10-containerd-net.conflist): bridge + portmap.
        Files.writeString(cni.resolve("10-bench.conflist"), """
                {"cniVersion": "1.0.0", "name": "%s", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": true,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}],
                            "dataDir": "%s"}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}]}
                """.formatted(bridge, bridge, subnet, dir.resolve("ipam")));
        Path hosts = Files.createDirectories(dir.resolve("certs.d").resolve(registryHost));
        Files.writeString(hosts.resolve("hosts.toml"), """
                server = "http://%s"
                [host."http://%s"]
                  capabilities = ["pull", "resolve"]
                """.formatted(registryHost, registryHost));
        Path config = dir.resolve("config.toml");
        Files.writeString(config, """
                version = 2
                root = "%s"
                state = "%s"
                [grpc]
                  address = "%s"
                [debug]
                  level = "warn"
                [plugins."io.containerd.grpc.v1.cri"]
                  sandbox_image = "%s"
                  stream_server_address = "127.0.0.1"
                  stream_server_port = "0"
                  # This machine withholds CAP_SYS_RESOURCE, so no process may lower its
                  # oom_score_adj (a sandbox's -998 makes runc fail): clamp at containerd's own.
                  restrict_oom_score_adj = true
                  [plugins."io.containerd.grpc.v1.cri".containerd]
                    snapshotter = "overlayfs"
                    default_runtime_name = "runc"
                    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                      runtime_type = "io.containerd.runc.v2"
                      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                        SystemdCgroup = false
                  [plugins."io.containerd.grpc.v1.cri".cni]
                    bin_dir = "/usr/lib/cni"
                    conf_dir = "%s"
                  [plugins."io.containerd.grpc.v1.cri".registry]
                    config_path = "%s"
                """.formatted(dir.resolve("root"), dir.resolve("state"), socket, sandboxImage, cni, dir.resolve("certs.d")));
        boolean runExisted = Files.exists(RUN);
        Process p = new ProcessBuilder("containerd", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("containerd.log").toFile()).start();
        var c = new Containerd(dir, socket, bridge, p, runExisted);
        try {
            c.awaitReady();
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String last = "no socket yet";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("containerd exited with " + process.exitValue() + ": " + log());
            }
            if (Files.exists(socket)) {
                try {
                    var conditions = client.runtime().withDeadlineAfter(2, TimeUnit.SECONDS)
                            .status(StatusRequest.getDefaultInstance()).getStatus().getConditionsList();
                    if (!conditions.isEmpty() && conditions.stream().allMatch(c -> c.getStatus())) {
                        return;
                    }
                    last = conditions.toString();
                } catch (io.grpc.StatusRuntimeException e) {
                    last = e.getStatus().toString();
                }
            }
            Thread.sleep(50);
        }
        throw new IOException("containerd's CRI was not ready within 60 s (" + last + "): " + log());
    }

    CriClient client() {
        return client;
    }

    long pid() {
        return process.pid();
    }

    /** The pids of the runc shims (containerd-shim-runc-v2) serving this containerd. */
    List<Long> shimPids() throws IOException {
        var pids = new ArrayList<Long>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                String cmdline;
                try {
                    cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                } catch (IOException gone) {
                    continue;
                }
                if (cmdline.contains("containerd-shim") && cmdline.contains(" -address " + socket + " ")) {
                    pids.add(Long.parseLong(p.getFileName().toString()));
                }
            }
        }
        return pids;
    }

    /** The end of containerd's log (its output). */
    String log() throws IOException {
        String log = Files.readString(dir.resolve("containerd.log"));
        return log.length() > 4000 ? log.substring(log.length() - 4000) : log;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            client.close();
        } finally {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            // The pods' removal ends their containers, shims, network namespaces and NAT rules; a
            // failed run may have left some: containers (runc's, bundles under dir) first, then
            // the shims (they outlive containerd by design), mounts, namespaces, NAT, the bridge.
            var netns = new ArrayList<String>();
            for (String id : leftoverContainers()) {
                Path spec = dir.resolve(TASKS).resolve(id).resolve("config.json");
                if (Files.exists(spec)) {
                    var m = java.util.regex.Pattern.compile("\"path\":\"(/var/run/netns/cni-[0-9a-f-]+)\"")
                            .matcher(Files.readString(spec));
                    if (m.find()) netns.add(m.group(1));
                }
                quietly("runc", "--root", RUNC_ROOT, "delete", "--force", id);
            }
            for (long pid : shimPids()) {
                List<Path> held = unixSocketsOf(pid);
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                for (Path s : held) {
                    if (s.startsWith(RUN.resolve("s"))) Files.deleteIfExists(s); // a shim removes its own on exit
                }
            }
            for (String mount : mountsUnder(dir)) {
                quietly("umount", "-l", mount);
            }
            for (String ns : netns) {
                quietly("umount", ns);
                Files.deleteIfExists(Path.of(ns));
            }
            removeMasquerade();
            quietly("ip", "link", "del", bridge);
            if (!runExisted) quietly("find", RUN.toString(), "-depth", "-type", "d", "-empty", "-delete");
        }
    }

    /** runc containers whose bundle is under this containerd's state directory. */
    private List<String> leftoverContainers() throws IOException, InterruptedException {
        var ids = new ArrayList<String>();
        if (!Files.isDirectory(Path.of(RUNC_ROOT))) return ids;
        Process p = new ProcessBuilder("runc", "--root", RUNC_ROOT, "list", "-q").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        Path tasks = dir.resolve(TASKS);
        for (String id : out.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            if (Files.isDirectory(tasks.resolve(id))) ids.add(id);
        }
        return ids;
    }

    /**
     * The bridge plugin's per-pod NAT (ipMasq): a POSTROUTING rule commented with the network's
     * name (the bridge's) jumping to a chain of its own. Deleted by rule number, last first.
     */
    private void removeMasquerade() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("iptables", "-t", "nat", "-L", "POSTROUTING", "--line-numbers", "-n")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) return; // no iptables: the plugin made no rules either
        var rules = out.lines().filter(l -> l.contains("name: \"" + bridge + "\"")).toList().reversed();
        for (String rule : rules) {
            String[] f = rule.trim().split("\\s+");
            quietly("iptables", "-t", "nat", "-D", "POSTROUTING", f[0]);
            quietly("iptables", "-t", "nat", "-F", f[1]);
            quietly("iptables", "-t", "nat", "-X", f[1]);
        }
    }

    private static void quietly(String... command) throws IOException, InterruptedException {
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    }

    /** The paths of the unix sockets process {@code pid} holds (its fds' inodes in /proc/net/unix). */
    private static List<Path> unixSocketsOf(long pid) throws IOException {
        var inodes = new java.util.HashSet<String>();
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) inodes.add(target.substring(8, target.length() - 1));
                } catch (IOException closed) {
                    // closed meanwhile
                }
            }
        } catch (IOException gone) {
            return List.of();
        }
        var paths = new ArrayList<Path>();
        for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
            String[] f = line.trim().split("\\s+"); // Num RefCount Protocol Flags Type St Inode [Path]
            if (f.length == 8 && inodes.contains(f[6])) paths.add(Path.of(f[7]));
        }
        return paths;
    }

    /** Mount points at or under {@code dir}, deepest first (/proc/self/mountinfo, field 5). */
    private static List<String> mountsUnder(Path dir) throws IOException {
        String prefix = dir.toAbsolutePath().toString();
        var mounts = new ArrayList<String>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String point = line.split(" ")[4].replace("\\040", " ");
            if (point.equals(prefix) || point.startsWith(prefix + "/")) {
                mounts.add(point);
            }
        }
        mounts.sort((a, b) -> b.length() - a.length());
        return mounts;
    }
}
