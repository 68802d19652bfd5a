package io.berth.agent.container;

import io.berth.agent.domain.BerthException;
import io.berth.agent.image.Image;
import io.berth.agent.pod.PodNamespaces;
import io.berth.agent.pod.Sandbox;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decides the container's plan from the request, its image and its sandbox, with the defaults that
 * Kubernetes users rely on (the same as containerd's and runc's).
 */
final class PlanBuilder {
    /** The capabilities a container gets by default (containerd/moby oci defaults, runc spec). */
    static final List<String> DEFAULT_CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
            "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");

    /** Every capability of Linux 6.x (capabilities(7)), for privileged containers and "ALL". */
    static final List<String> ALL_CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
            "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
            "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
            "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
            "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
            "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
            "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE");

    /** Paths hidden from unprivileged containers (containerd's defaults, after runc's spec). */
    static final List<String> DEFAULT_MASKED_PATHS = List.of("/proc/acpi", "/proc/asound", "/proc/kcore",
            "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
            "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap");

    /** Paths read-only for unprivileged containers (same source). */
    static final List<String> DEFAULT_READONLY_PATHS = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private PlanBuilder() {
    }

    /**
     * @param targetPid the PID namespace to join for PID mode TARGET (the target container's,
     *                  resolved by the caller), else null
     */
    static ContainerPlan build(String id, Path bundle, Path writable, ContainerRequest r, Image image, Sandbox sandbox,
            Path logPath, ContainerPlan.NamespaceJoin targetPid) {
        var config = image.config();
        List<String> lower = image.layerDirs().stream().map(Path::toString).toList();
        var security = r.security();

        List<String> args = arguments(r, config.entrypoint(), config.cmd());
        if (args.isEmpty()) {
            throw BerthException.invalid("container " + r.name() + ": no command: neither the request nor image "
                    + image.id() + " gives one");
        }

        var env = new LinkedHashMap<String, String>();
        for (String kv : config.env()) {
            int eq = kv.indexOf('=');
            env.put(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : kv.substring(eq + 1));
        }
        env.putIfAbsent("PATH", DEFAULT_PATH.substring("PATH=".length()));
        env.put("HOSTNAME", sandbox.hostname());
        env.putAll(r.env());
        if (r.tty()) {
            env.putIfAbsent("TERM", "xterm");
        }

        String cwd = !r.workingDir().isEmpty() ? r.workingDir()
                : !config.workingDir().isEmpty() ? config.workingDir() : "/";
        if (!cwd.startsWith("/")) {
            throw BerthException.invalid("container " + r.name() + ": working dir '" + cwd + "' is not absolute");
        }

        Users.Resolved user = user(security, config.user(), lower);
        var groups = new LinkedHashSet<>(user.groups());
        groups.addAll(security.supplementalGroups());

        boolean privileged = security.privileged();
        if (privileged && !sandbox.privileged()) {
            throw BerthException.invalid("container " + r.name() + " is privileged but its sandbox " + sandbox.id()
                    + " is not");
        }

        return new ContainerPlan(
                id, bundle.toString(), lower,
                writable.resolve("upper").toString(), writable.resolve("work").toString(),
                security.readonlyRootfs(),
                args,
                env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList(),
                cwd, user.uid(), user.gid(), List.copyOf(groups),
                r.tty(), r.stdin(), r.stdinOnce(),
                security.noNewPrivileges(),
                privileged ? ALL_CAPABILITIES : capabilities(security.addCapabilities(), security.dropCapabilities()),
                privileged,
                privileged ? new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.UNCONFINED, "") : security.seccomp(),
                security.oomScoreAdj(),
                sandbox.hostname(),
                namespaces(sandbox, security, targetPid),
                mounts(r, sandbox),
                HostDevices.resolve(r.name(), r.devices()),
                privileged ? List.of() : security.maskedPaths().isEmpty() ? DEFAULT_MASKED_PATHS : security.maskedPaths(),
                privileged ? List.of() : security.readonlyPaths().isEmpty() ? DEFAULT_READONLY_PATHS : security.readonlyPaths(),
                sandbox.cgroupParent(),
                r.resources(),
                logPath == null ? "" : logPath.toString());
    }

    /** Kubernetes' rule (pod spec "command"/"args"): command replaces Entrypoint, args replace Cmd. */
    static List<String> arguments(ContainerRequest r, List<String> entrypoint, List<String> cmd) {
        var out = new ArrayList<String>();
        if (!r.command().isEmpty()) {
            out.addAll(r.command());
            out.addAll(r.args());
        } else {
            out.addAll(entrypoint);
            out.addAll(r.args().isEmpty() ? cmd : r.args());
        }
        return out;
    }

    static List<String> capabilities(List<String> add, List<String> drop) {
        var caps = new LinkedHashSet<>(DEFAULT_CAPABILITIES);
        for (String a : add) {
            if (a.equalsIgnoreCase("ALL")) caps.addAll(ALL_CAPABILITIES);
            else caps.add(capName(a));
        }
        for (String d : drop) {
            if (d.equalsIgnoreCase("ALL")) caps.clear();
            else caps.remove(capName(d));
        }
        // An explicit add wins over drop ALL (containerd: drop ALL then add listed caps).
        if (drop.stream().anyMatch(d -> d.equalsIgnoreCase("ALL"))) {
            add.stream().filter(a -> !a.equalsIgnoreCase("ALL")).map(PlanBuilder::capName).forEach(caps::add);
        }
        return List.copyOf(caps);
    }

    static String capName(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        String full = upper.startsWith("CAP_") ? upper : "CAP_" + upper;
        if (!ALL_CAPABILITIES.contains(full)) {
            throw BerthException.invalid("unknown capability '" + name + "'");
        }
        return full;
    }

    private static Users.Resolved user(ContainerRequest.Security s, String imageUser, List<String> lower) {
        Users.Resolved u;
        if (s.runAsUser() != null) {
            u = Users.resolve(Long.toString(s.runAsUser()), lower);
        } else if (!s.runAsUsername().isEmpty()) {
            u = Users.resolve(s.runAsUsername(), lower);
        } else {
            u = Users.resolve(imageUser, lower);
        }
        if (s.runAsGroup() != null) {
            u = new Users.Resolved(u.uid(), s.runAsGroup(), u.groups());
        }
        return u;
    }

    private static List<ContainerPlan.NamespaceJoin> namespaces(Sandbox sandbox, ContainerRequest.Security s,
            ContainerPlan.NamespaceJoin targetPid) {
        Path pins = Path.of(sandbox.pinsDir());
        var out = new ArrayList<ContainerPlan.NamespaceJoin>();
        var ns = sandbox.namespaces();
        out.add(join("NET", ns.network() == Sandbox.NamespaceModes.Mode.NODE ? "/proc/1/ns/net"
                : PodNamespaces.pin(pins, PodNamespaces.Kind.NET).toString()));
        out.add(join("IPC", ns.ipc() == Sandbox.NamespaceModes.Mode.NODE ? "/proc/1/ns/ipc"
                : PodNamespaces.pin(pins, PodNamespaces.Kind.IPC).toString()));
        out.add(join("UTS", ns.network() == Sandbox.NamespaceModes.Mode.NODE ? "/proc/1/ns/uts"
                : PodNamespaces.pin(pins, PodNamespaces.Kind.UTS).toString()));
        switch (s.pidMode()) {
            case "NODE" -> out.add(join("PID", "/proc/1/ns/pid"));
            case "POD" -> {
                if (!io.berth.agent.pod.PodInit.needed(sandbox)) {
                    throw BerthException.invalid("the container asks for its pod's PID namespace, but pod sandbox "
                            + sandbox.id() + " was created without a shared one (its PID mode is "
                            + sandbox.namespaces().pid() + ")");
                }
                out.add(join("PID", io.berth.agent.pod.PodInit.pin(sandbox).toString()));
            }
            case "TARGET" -> {
                // kubectl debug --target: the target container's PID namespace, as containerd does.
                if (targetPid == null) {
                    throw new IllegalStateException("PID mode TARGET without the target's namespace");
                }
                out.add(targetPid);
            }
            default -> out.add(join("PID", ""));
        }
        out.add(join("MOUNT", ""));
        // No cgroup namespace asked for: on cgroup v1 its root would be the shim thread's (the host
        // root), so it would hide nothing; containerd does not make one on v1 either. On v2 the
        // shim makes one rooted at the container's cgroup itself (unless privileged).
        return out;
    }

    private static ContainerPlan.NamespaceJoin join(String type, String path) {
        return new ContainerPlan.NamespaceJoin(type, path);
    }

    /** The pod's hostname, hosts and resolv.conf, unless the request mounts its own; then the request's. */
    private static List<ContainerPlan.Mount> mounts(ContainerRequest r, Sandbox sandbox) {
        Set<String> targets = new LinkedHashSet<>();
        r.mounts().forEach(m -> targets.add(m.destination()));
        var out = new ArrayList<ContainerPlan.Mount>();
        Path podDir = Path.of(sandbox.podDir());
        for (String file : List.of("hostname", "hosts", "resolv.conf")) {
            String dest = "/etc/" + file;
            if (!targets.contains(dest)) {
                out.add(new ContainerPlan.Mount(podDir.resolve(file).toString(), dest, "bind",
                        List.of("rbind", "nosuid", "nodev", "noexec"), "private", r.security().readonlyRootfs()));
            }
        }
        for (var m : r.mounts()) {
            if (!m.destination().startsWith("/")) {
                throw BerthException.invalid("mount target '" + m.destination() + "' is not absolute");
            }
            if (!Path.of(m.source()).isAbsolute()) {
                throw BerthException.invalid("mount source '" + m.source() + "' for " + m.destination()
                        + " is not absolute");
            }
            out.add(m);
        }
        return out;
    }
}
