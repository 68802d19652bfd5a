package io.berth.agent.host;

import io.berth.agent.container.ContainerPlan;
import io.berth.agent.container.ContainerRuntime;
import io.berth.agent.domain.BerthException;
import io.berth.agent.pod.PodInit;
import io.berth.agent.pod.PodNamespaces;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.util.FileTrees;
import io.berth.kernel.Errno;
import io.berth.kernel.MountFlags;
import io.berth.kernel.SyscallException;
import io.berth.kernel.Syscalls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link PodInit} as a shim-run container of {@code berth-pause} (agent/src/main/c): a static
 * binary in a rootfs of its own, unprivileged (uid 65535, no capabilities, RuntimeDefault seccomp),
 * in the pod's network, IPC and UTS namespaces and a new PID namespace, which is then pinned so the
 * pod's containers can join it.
 */
public final class ShimPodInit implements PodInit {
    /** The uid and gid Kubernetes' pause image runs as. */
    static final long PAUSE_ID = 65535;

    private final ContainerRuntime runtime;
    private final Path rootfs;
    private final Path runDir;

    /**
     * @param pauseBinary the built berth-pause
     * @param runDir      where the init's rootfs and bundles live
     */
    public ShimPodInit(ContainerRuntime runtime, Path pauseBinary, Path runDir) {
        this.runtime = runtime;
        this.runDir = runDir;
        this.rootfs = runDir.resolve("pause-rootfs");
        try {
            prepareRootfs(pauseBinary, rootfs);
        } catch (IOException e) {
            throw new UncheckedIOException("prepare the pod init's rootfs in " + rootfs + " from " + pauseBinary, e);
        }
    }

    /** The rootfs is bound read-only, so the mount points the shim needs must exist in it. */
    static void prepareRootfs(Path pauseBinary, Path rootfs) throws IOException {
        for (String dir : List.of("proc", "dev", "sys", "etc")) {
            Files.createDirectories(rootfs.resolve(dir));
        }
        Path target = rootfs.resolve("pause");
        if (!Files.isRegularFile(pauseBinary)) {
            // Without it, only pods that share a PID namespace fail, and they say why.
            return;
        }
        Files.copy(pauseBinary, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        target.toFile().setExecutable(true, false);
    }

    private Path bundle(Sandbox s) {
        return runDir.resolve("p").resolve(s.id().substring(0, 16));
    }

    @Override
    public void start(Sandbox s, Path pin) {
        if (!Files.isExecutable(rootfs.resolve("pause"))) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "pod " + s.id()
                    + " shares a PID namespace, which needs berth-pause, but " + rootfs.resolve("pause")
                    + " is missing (see pause_binary in README)");
        }
        Path bundle = bundle(s);
        Path pins = Path.of(s.pinsDir());
        var namespaces = new ArrayList<ContainerPlan.NamespaceJoin>();
        namespaces.add(new ContainerPlan.NamespaceJoin("NET", s.hostNetwork() ? "/proc/1/ns/net"
                : PodNamespaces.pin(pins, PodNamespaces.Kind.NET).toString()));
        namespaces.add(new ContainerPlan.NamespaceJoin("IPC", s.namespaces().ipc() == Sandbox.NamespaceModes.Mode.NODE
                ? "/proc/1/ns/ipc" : PodNamespaces.pin(pins, PodNamespaces.Kind.IPC).toString()));
        namespaces.add(new ContainerPlan.NamespaceJoin("UTS", s.hostNetwork() ? "/proc/1/ns/uts"
                : PodNamespaces.pin(pins, PodNamespaces.Kind.UTS).toString()));
        namespaces.add(new ContainerPlan.NamespaceJoin("PID", ""));
        namespaces.add(new ContainerPlan.NamespaceJoin("MOUNT", ""));
        var plan = new ContainerPlan(s.id().substring(0, 16) + "-init", bundle.toString(), List.of(rootfs.toString()),
                "", "", true, List.of("/pause"), List.of(), "/", PAUSE_ID, PAUSE_ID, List.of(), false, false, false,
                true, List.of(), false, new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.RUNTIME_DEFAULT, ""), 0,
                s.hostname(), namespaces, List.of(), List.of(), List.of(), List.of(), s.cgroupParent(),
                ContainerPlan.Resources.NONE, "");
        runtime.create(plan);
        try {
            int pid = runtime.start(bundle.toString()).pid();
            Files.createDirectories(pin.getParent());
            Files.deleteIfExists(pin);
            Files.createFile(pin);
            Syscalls.mount("/proc/" + pid + "/ns/pid", pin, null, MountFlags.MS_BIND, null);
        } catch (IOException | RuntimeException e) {
            runtime.delete(bundle.toString());
            throw e instanceof BerthException b ? b : new BerthException(BerthException.Kind.INTERNAL,
                    "start the init of pod " + s.id() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void stop(Sandbox s, Path pin) {
        String bundle = bundle(s).toString();
        if (Files.exists(Path.of(bundle))) {
            runtime.kill(bundle, 9, true);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < deadline && runtime.observe(bundle).phase().ordinal()
                    < ContainerRuntime.Observed.Phase.EXITED.ordinal()) {
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        try {
            Syscalls.umount2(pin, MountFlags.MNT_DETACH);
        } catch (SyscallException e) {
            if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
        try {
            Files.deleteIfExists(pin);
        } catch (IOException e) {
            throw new UncheckedIOException("remove PID namespace pin " + pin, e);
        }
    }

    @Override
    public void remove(Sandbox s) {
        runtime.delete(bundle(s).toString());
        FileTrees.delete(bundle(s));
    }
}
