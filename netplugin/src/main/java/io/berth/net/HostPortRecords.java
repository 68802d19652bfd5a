package io.berth.net;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The host ports each pod holds, persisted one file per pod (temp file, fsync, rename, fsync of the
 * directory: the content matters, it is what the firewall is rebuilt from and who holds a port after
 * a restart). Lines are tab-separated: {@code pod ID NAMESPACE NAME UID}, then
 * {@code port PROTO HOSTIP|- HOSTPORT CONTAINERPORT PODIP} per DNAT.
 */
final class HostPortRecords {
    private final Path dir;
    private final Map<String, List<Firewall.HostPort>> byPod = new LinkedHashMap<>();

    HostPortRecords(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    if (f.getFileName().toString().startsWith(".")) {
                        Files.deleteIfExists(f); // a temp file from an interrupted write
                        continue;
                    }
                    List<Firewall.HostPort> ports = parse(Files.readAllLines(f, StandardCharsets.UTF_8));
                    if (!ports.isEmpty()) {
                        byPod.put(ports.getFirst().pod().id(), ports);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("load host port records from " + dir, e);
        }
    }

    synchronized Map<String, List<Firewall.HostPort>> all() {
        return Map.copyOf(byPod);
    }

    synchronized List<Firewall.HostPort> flat() {
        return byPod.values().stream().flatMap(List::stream).toList();
    }

    synchronized boolean has(String podId) {
        return byPod.containsKey(podId);
    }

    synchronized void put(PodRef pod, List<Firewall.HostPort> ports) {
        var text = new StringBuilder();
        text.append(String.join("\t", "pod", pod.id(), pod.namespace(), pod.name(), pod.uid())).append('\n');
        for (Firewall.HostPort p : ports) {
            PortMapping m = p.mapping();
            text.append(String.join("\t", "port", m.protocol().name(), m.hostIp() == null ? "-" : m.hostIp().getHostAddress(),
                    Integer.toString(m.hostPort()), Integer.toString(m.containerPort()), p.podIp().getHostAddress())).append('\n');
        }
        Path file = dir.resolve(pod.id());
        Path tmp = dir.resolve("." + pod.id() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("write host port record " + file, e);
        }
        byPod.put(pod.id(), List.copyOf(ports));
    }

    synchronized void remove(String podId) {
        try {
            Files.deleteIfExists(dir.resolve(podId));
        } catch (IOException e) {
            throw new UncheckedIOException("remove host port record " + dir.resolve(podId), e);
        }
        byPod.remove(podId);
    }

    private static List<Firewall.HostPort> parse(List<String> lines) {
        PodRef pod = null;
        var out = new ArrayList<Firewall.HostPort>();
        for (String line : lines) {
            String[] f = line.split("\t", -1);
            if (f[0].equals("pod") && f.length == 5) {
                pod = new PodRef(f[1], f[3], f[2], f[4]);
            } else if (f[0].equals("port") && f.length == 6 && pod != null) {
                InetAddress hostIp = f[2].equals("-") ? null : Cidr.literal(f[2], f[2]);
                out.add(new Firewall.HostPort(pod, new PortMapping(PortMapping.Protocol.valueOf(f[1]), Integer.parseInt(f[4]),
                        Integer.parseInt(f[3]), hostIp), Cidr.literal(f[5], f[5])));
            }
        }
        return out;
    }
}
