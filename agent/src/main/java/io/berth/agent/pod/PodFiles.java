package io.berth.agent.pod;

import io.berth.agent.store.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The files a pod's containers see as /etc/hostname, /etc/hosts and /etc/resolv.conf, written once
 * per sandbox into its pod dir and bind-mounted into each container.
 */
final class PodFiles {
    static final String HOSTNAME = "hostname";
    static final String HOSTS = "hosts";
    static final String RESOLV_CONF = "resolv.conf";
    /** 0644: every user of every container in the pod reads these. */
    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> READABLE =
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--");

    private PodFiles() {
    }

    static void write(Path podDir, String hostname, Sandbox.Dns dns, List<String> ips, Path hostResolvConf)
            throws IOException {
        Files.createDirectories(podDir);
        // In run_dir, gone at a reboot anyway: atomic replaces, no fsync.
        AtomicFiles.replace(podDir.resolve(HOSTNAME), (hostname + "\n").getBytes(StandardCharsets.UTF_8), READABLE);
        AtomicFiles.replace(podDir.resolve(HOSTS), hosts(hostname, ips).getBytes(StandardCharsets.UTF_8), READABLE);
        byte[] resolv = dns.servers().isEmpty() && dns.searches().isEmpty() && dns.options().isEmpty()
                ? (Files.exists(hostResolvConf) ? Files.readAllBytes(hostResolvConf) : new byte[0])
                : resolvConf(dns).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.replace(podDir.resolve(RESOLV_CONF), resolv, READABLE);
    }

    /** resolv.conf(5) from the CRI DNSConfig: nameserver lines, one search line, one options line. */
    static String resolvConf(Sandbox.Dns dns) {
        var out = new StringBuilder();
        dns.servers().forEach(s -> out.append("nameserver ").append(s).append('\n'));
        if (!dns.searches().isEmpty()) {
            out.append("search ").append(String.join(" ", dns.searches())).append('\n');
        }
        if (!dns.options().isEmpty()) {
            out.append("options ").append(String.join(" ", dns.options())).append('\n');
        }
        return out.toString();
    }

    static String hosts(String hostname, List<String> ips) {
        var out = new StringBuilder("""
                127.0.0.1\tlocalhost
                ::1\tlocalhost ip6-localhost ip6-loopback
                fe00::0\tip6-localnet
                fe00::0\tip6-mcastprefix
                fe00::1\tip6-allnodes
                fe00::2\tip6-allrouters
                """);
        for (String ip : ips) {
            out.append(ip).append('\t').append(hostname).append('\n');
        }
        return out.toString();
    }
}
