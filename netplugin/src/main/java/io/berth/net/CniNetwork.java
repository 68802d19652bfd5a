package io.berth.net;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Pod networking by CNI plugins (CNI spec 1.0, "Section 2: Execution protocol" and "Section 3:
 * Execution of network configurations"): the lexically first config in the conf dir, plugins run
 * from the bin dirs with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH,
 * the plugin config (with name, cniVersion, prevResult and runtimeConfig) on stdin.
 *
 * <p>ADD runs the plugins in order, each getting the previous result; a failed ADD is undone with
 * DEL. The final result, the config used and the port mappings are cached under
 * {@code stateDir/cni} (like libcni's /var/lib/cni/results), so DEL and CHECK get the prevResult and
 * the same config even if the conf dir changed since. DEL runs the plugins in reverse order.
 * CNI_ARGS carries what Kubernetes runtimes pass: K8S_POD_NAMESPACE, K8S_POD_NAME,
 * K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID, with IgnoreUnknown=1.
 */
public final class CniNetwork implements PodNetwork {
    static final String IFNAME = "eth0";
    private static final long PLUGIN_TIMEOUT_SECONDS = 120;

    private final NetworkConfig config;
    private final Path cacheDir;

    public CniNetwork(NetworkConfig config) {
        this.config = config;
        this.cacheDir = config.stateDir().resolve("cni");
        try {
            Files.createDirectories(cacheDir);
        } catch (IOException e) {
            throw new UncheckedIOException("create CNI cache directory " + cacheDir, e);
        }
    }

    /**
     * lo is brought up by the loopback plugin when it is installed, in a network of its own before the
     * configured one, as containerd does (its "cni-loopback" network): a conflist rarely includes it.
     */
    private Optional<CniConfig> loopback() {
        try {
            binary("loopback");
        } catch (NetworkException absent) {
            return Optional.empty();
        }
        return Optional.of(new CniConfig(null, "cni-loopback", "1.0.0", false, List.of(Map.of("type", "loopback"))));
    }

    @Override
    public synchronized Attachment setUp(PodRef pod, Path netns, List<PortMapping> ports) {
        CniConfig conf = loadOrFail("set up network of pod " + pod.describe());
        List<PortMapping> mapped = ports.stream().filter(PortMapping::mapped).toList();
        Map<String, Object> result = null;
        Optional<CniConfig> lo = loopback();
        if (lo.isPresent()) {
            invoke("ADD", lo.get(), lo.get().plugins().getFirst(), pod, netns.toString(), List.of(), null);
        }
        try {
            for (Map<String, Object> plugin : conf.plugins()) {
                Object out = invoke("ADD", conf, plugin, pod, netns.toString(), mapped, result);
                if (out instanceof Map<?, ?> m) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> r = (Map<String, Object>) m;
                    result = r;
                }
            }
            if (result == null) {
                throw new NetworkException("CNI network " + conf.name() + " for pod " + pod.describe() + ": the plugins returned no result");
            }
            writeCache(pod, conf, result, mapped);
            return attachment(result);
        } catch (RuntimeException e) {
            // CNI spec: a runtime that gets an ADD error should DEL to release what was acquired.
            try {
                delete(conf, pod, netns.toString(), mapped, result);
            } catch (RuntimeException undo) {
                e.addSuppressed(undo);
            }
            lo.ifPresent(l -> {
                try {
                    delete(l, pod, netns.toString(), List.of(), null);
                } catch (RuntimeException undo) {
                    e.addSuppressed(undo);
                }
            });
            throw e;
        }
    }

    @Override
    public synchronized void tearDown(PodRef pod, Path netns) {
        Cached cached = readCache(pod.id());
        CniConfig conf;
        if (cached != null) {
            conf = cached.config();
        } else {
            Optional<Path> file = CniConfig.find(config.cniConfDir());
            if (file.isEmpty()) {
                return; // never set up through CNI, and nothing to run DEL with
            }
            conf = CniConfig.load(file.get());
        }
        // CNI spec: CNI_NETNS may be empty on DEL when the namespace is already gone.
        String ns = netns != null && Files.exists(netns) ? netns.toString() : "";
        delete(conf, pod, ns, cached == null ? List.of() : cached.ports(), cached == null ? null : cached.result());
        Optional<CniConfig> lo = loopback();
        if (lo.isPresent()) {
            delete(lo.get(), pod, ns, List.of(), null);
        }
        deleteCache(pod.id());
    }

    /** CNI CHECK with the cached result as prevResult; throws with the plugin's error when the network is not as it was set up. */
    public synchronized void check(PodRef pod, Path netns) {
        Cached cached = readCache(pod.id());
        if (cached == null) {
            throw new NetworkException("CNI CHECK of pod " + pod.describe() + ": no cached result, the pod was not set up through CNI");
        }
        CniConfig conf = cached.config();
        if (conf.disableCheck() || !conf.atLeast040()) {
            return; // spec: CHECK only exists from 0.4.0 on, and disableCheck turns it off
        }
        for (Map<String, Object> plugin : conf.plugins()) {
            invoke("CHECK", conf, plugin, pod, netns.toString(), cached.ports(), cached.result());
        }
    }

    @Override
    public synchronized Readiness status() {
        try {
            Optional<Path> file = CniConfig.find(config.cniConfDir());
            if (file.isEmpty()) {
                return Readiness.notReady("NetworkPluginNotReady", "cni config uninitialized: no network config (.conf, .conflist, .json) in "
                        + config.cniConfDir());
            }
            CniConfig conf = CniConfig.load(file.get());
            for (Map<String, Object> plugin : conf.plugins()) {
                binary((String) plugin.get("type"));
            }
            return Readiness.ok();
        } catch (RuntimeException e) {
            return Readiness.notReady("NetworkPluginNotReady", e.getMessage());
        }
    }

    /** DEL (netns gone, so CNI_NETNS empty) for every cached attachment of a pod that no longer exists. */
    @Override
    public synchronized void reconcile(Set<String> livePodIds) {
        RuntimeException first = null;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(cacheDir, "*.json")) {
            for (Path f : files) {
                String podId = f.getFileName().toString().replaceFirst("\\.json$", "");
                if (livePodIds.contains(podId)) {
                    continue;
                }
                Cached c = readCache(podId);
                try {
                    if (c != null) {
                        delete(c.config(), c.pod(), "", c.ports(), c.result());
                    }
                    deleteCache(podId);
                } catch (RuntimeException e) {
                    if (first == null) first = e; else first.addSuppressed(e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("read CNI cache " + cacheDir, e);
        }
        if (first != null) {
            throw first;
        }
    }

    /** The CNI config decides addresses (its IPAM section); kubelet's pod_cidr does not apply. */
    @Override
    public void updatePodCidrs(List<String> cidrs) {
    }

    @Override
    public void close() {
    }

    /** The IPs of a pod from its cached result (for status after an agent restart), empty when unknown. */
    @Override
    public synchronized List<InetAddress> addressesOf(String podId) {
        Cached c = readCache(podId);
        return c == null ? List.of() : attachment(c.result()).ips();
    }

    private CniConfig loadOrFail(String what) {
        Optional<Path> file = CniConfig.find(config.cniConfDir());
        if (file.isEmpty()) {
            throw new NetworkException(what + ": no CNI network config in " + config.cniConfDir());
        }
        try {
            return CniConfig.load(file.get());
        } catch (IllegalArgumentException e) {
            throw new NetworkException(what + ": " + e.getMessage(), e);
        }
    }

    /** DEL in reverse order; stops at the first failure (as libcni) so that a retry runs it again. */
    private void delete(CniConfig conf, PodRef pod, String netns, List<PortMapping> ports, Map<String, Object> prevResult) {
        List<Map<String, Object>> reversed = new ArrayList<>(conf.plugins());
        java.util.Collections.reverse(reversed);
        for (Map<String, Object> plugin : reversed) {
            invoke("DEL", conf, plugin, pod, netns, ports, conf.atLeast040() ? prevResult : null);
        }
    }

    /** Runs one plugin; returns its parsed stdout for ADD, null otherwise. */
    private Object invoke(String command, CniConfig conf, Map<String, Object> plugin, PodRef pod, String netns,
                          List<PortMapping> ports, Map<String, Object> prevResult) {
        String type = (String) plugin.get("type");
        String what = "CNI " + command + " plugin " + type + " (network " + conf.name() + ", pod " + pod.describe() + ")";
        Path bin;
        try {
            bin = binary(type);
        } catch (NetworkException e) {
            throw new NetworkException(what + ": " + e.getMessage(), e);
        }
        var stdin = new LinkedHashMap<>(plugin);
        stdin.put("cniVersion", conf.cniVersion());
        stdin.put("name", conf.name());
        if (prevResult != null) {
            stdin.put("prevResult", prevResult);
        }
        if (plugin.get("capabilities") instanceof Map<?, ?> caps && Boolean.TRUE.equals(caps.get("portMappings")) && !ports.isEmpty()) {
            // CNI CONVENTIONS.md "portMappings": what the runtime passes for a plugin that asks for the capability.
            var runtimeConfig = new LinkedHashMap<String, Object>();
            if (plugin.get("runtimeConfig") instanceof Map<?, ?> rc) {
                rc.forEach((k, v) -> runtimeConfig.put((String) k, v));
            }
            runtimeConfig.put("portMappings", ports.stream().map(p -> {
                var m = new LinkedHashMap<String, Object>();
                m.put("hostPort", p.hostPort());
                m.put("containerPort", p.containerPort());
                m.put("protocol", p.protocol().lower());
                m.put("hostIP", p.hostIp() == null ? "" : p.hostIp().getHostAddress());
                return m;
            }).toList());
            stdin.put("runtimeConfig", runtimeConfig);
        }
        var env = new LinkedHashMap<String, String>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", pod.id());
        env.put("CNI_NETNS", netns);
        env.put("CNI_IFNAME", IFNAME);
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.namespace() + ";K8S_POD_NAME=" + pod.name()
                + ";K8S_POD_INFRA_CONTAINER_ID=" + pod.id() + ";K8S_POD_UID=" + pod.uid());
        env.put("CNI_PATH", config.cniBinDirs().stream().map(Path::toString).collect(Collectors.joining(":")));
        // plugins such as portmap run iptables/nft themselves
        env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        Exec.Result r = Exec.run(List.of(bin.toString()), env, Json.write(stdin), PLUGIN_TIMEOUT_SECONDS);
        if (r.exit() != 0) {
            throw new NetworkException(what + ": " + pluginError(r));
        }
        if (!command.equals("ADD")) {
            return null;
        }
        try {
            return Json.parseObject(r.stdout());
        } catch (IllegalArgumentException e) {
            throw new NetworkException(what + ": unreadable result: " + e.getMessage() + ": " + r.stdout().strip());
        }
    }

    /** The plugin's own error: CNI spec "Error" {code, msg, details} on stdout, else whatever it printed. */
    private static String pluginError(Exec.Result r) {
        try {
            Map<String, Object> e = Json.parseObject(r.stdout());
            String msg = String.valueOf(e.getOrDefault("msg", ""));
            Object details = e.get("details");
            Object code = e.get("code");
            return msg + (details == null || details.toString().isEmpty() ? "" : ": " + details)
                    + (code instanceof BigDecimal c ? " (CNI error code " + c.toPlainString() + ")" : "");
        } catch (IllegalArgumentException notJson) {
            String text = (r.stdout() + " " + r.stderr()).strip();
            return "exit " + r.exit() + (text.isEmpty() ? "" : ": " + text);
        }
    }

    /** The plugin executable, found in the bin dirs in order (libcni's FindInPath). */
    private Path binary(String type) {
        for (Path dir : config.cniBinDirs()) {
            Path p = dir.resolve(type);
            if (Files.isExecutable(p) && Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new NetworkException("failed to find plugin \"" + type + "\" in path " + config.cniBinDirs());
    }

    /** The pod's IPs from a CNI result ("ips": [{"address": "10.22.0.5/16", "interface": 1}]), IPv4 first. */
    @SuppressWarnings("unchecked")
    static Attachment attachment(Map<String, Object> result) {
        var ips = new ArrayList<InetAddress>();
        String ifname = IFNAME;
        List<Object> interfaces = result.get("interfaces") instanceof List<?> l ? (List<Object>) l : List.of();
        if (result.get("ips") instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> ip && ip.get("address") instanceof String a) {
                    String addr = a.contains("/") ? a.substring(0, a.indexOf('/')) : a;
                    ips.add(Cidr.literal(addr, a));
                    if (ip.get("interface") instanceof BigDecimal idx && idx.intValue() < interfaces.size()
                            && interfaces.get(idx.intValue()) instanceof Map<?, ?> iface && iface.get("name") instanceof String n) {
                        ifname = n;
                    }
                }
            }
        }
        ips.sort(Comparator.comparing(x -> x instanceof java.net.Inet6Address));
        return new Attachment(ips, ifname);
    }

    private record Cached(PodRef pod, CniConfig config, Map<String, Object> result, List<PortMapping> ports) {
    }

    private void writeCache(PodRef pod, CniConfig conf, Map<String, Object> result, List<PortMapping> ports) {
        var m = new LinkedHashMap<String, Object>();
        m.put("podId", pod.id());
        m.put("podName", pod.name());
        m.put("podNamespace", pod.namespace());
        m.put("podUid", pod.uid());
        m.put("config", conf.toMap());
        m.put("result", result);
        m.put("ports", ports.stream().map(p -> List.of(p.protocol().name(), p.containerPort(), p.hostPort(),
                p.hostIp() == null ? "" : p.hostIp().getHostAddress())).toList());
        Path file = cacheDir.resolve(pod.id() + ".json");
        Path tmp = cacheDir.resolve("." + pod.id() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(Json.write(m).getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("write CNI result cache " + file, e);
        }
    }

    @SuppressWarnings("unchecked")
    private Cached readCache(String podId) {
        Path file = cacheDir.resolve(podId + ".json");
        if (!Files.exists(file)) {
            return null;
        }
        try {
            Map<String, Object> m = Json.parseObject(Files.readString(file));
            var pod = new PodRef((String) m.get("podId"), (String) m.get("podName"), (String) m.get("podNamespace"), (String) m.get("podUid"));
            CniConfig conf = CniConfig.from(file, (Map<String, Object>) m.get("config"), true);
            var ports = new ArrayList<PortMapping>();
            for (Object o : (List<Object>) m.getOrDefault("ports", List.of())) {
                List<Object> p = (List<Object>) o;
                String hostIp = (String) p.get(3);
                ports.add(new PortMapping(PortMapping.Protocol.valueOf((String) p.get(0)), ((BigDecimal) p.get(1)).intValue(),
                        ((BigDecimal) p.get(2)).intValue(), hostIp.isEmpty() ? null : Cidr.literal(hostIp, hostIp)));
            }
            return new Cached(pod, conf, (Map<String, Object>) m.get("result"), ports);
        } catch (IOException | RuntimeException e) {
            throw new NetworkException("read CNI result cache " + file + ": " + e.getMessage(), e);
        }
    }

    private void deleteCache(String podId) {
        try {
            Files.deleteIfExists(cacheDir.resolve(podId + ".json"));
        } catch (IOException e) {
            throw new UncheckedIOException("delete CNI result cache of pod " + podId, e);
        }
    }
}
