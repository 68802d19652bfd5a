package io.berth.agent;

import io.berth.agent.domain.NodeConditions;
import io.berth.agent.image.TrainingRegistry;
import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerFilter;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.ContainerStatsRequest;
import io.berth.cri.v1.ContainerStatusRequest;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.DNSConfig;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.ImageServiceGrpc;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.KeyValue;
import io.berth.cri.v1.LinuxContainerConfig;
import io.berth.cri.v1.LinuxContainerResources;
import io.berth.cri.v1.LinuxContainerSecurityContext;
import io.berth.cri.v1.LinuxPodSandboxConfig;
import io.berth.cri.v1.LinuxSandboxSecurityContext;
import io.berth.cri.v1.ListContainerStatsRequest;
import io.berth.cri.v1.ListContainersRequest;
import io.berth.cri.v1.ListPodSandboxRequest;
import io.berth.cri.v1.Mount;
import io.berth.cri.v1.NamespaceMode;
import io.berth.cri.v1.NamespaceOption;
import io.berth.cri.v1.PodSandboxConfig;
import io.berth.cri.v1.PodSandboxMetadata;
import io.berth.cri.v1.PodSandboxStatusRequest;
import io.berth.cri.v1.PortMapping;
import io.berth.cri.v1.Protocol;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.RemoveContainerRequest;
import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.RunPodSandboxRequest;
import io.berth.cri.v1.RuntimeServiceGrpc;
import io.berth.cri.v1.SecurityProfile;
import io.berth.cri.v1.StartContainerRequest;
import io.berth.cri.v1.StatusRequest;
import io.berth.cri.v1.StopContainerRequest;
import io.berth.cri.v1.StopPodSandboxRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pod part of the agent's AOT training: waves of pods run, inspected and removed through the
 * agent's socket with the requests kubelet makes, so that the cache holds the pod path's classes and
 * method profiles as it holds the pull path's. Without them a fresh agent's first pods ran
 * interpreted while its JIT compiled the pod path, the two on the CPU that the pods' shims need.
 *
 * <p>The pods are real: busybox containers (Debian's busybox-static, served by the training
 * registry), on a bridge, a CIDR, a firewall table and a cgroup parent of the training's own, all
 * removed afterwards ({@link AotTraining}). Making them needs root, busybox-static and a pod
 * network that is ready; without them, or built with {@code -Dberth.aot.pods=false} (a build as
 * root on a node that should not see a bridge come and go), this part is skipped with a notice.
 */
final class PodTraining {
    /** Pods per wave, run back to back as a node starting many pods at once. */
    static final int WAVE = 10;
    static final int WAVES = 3;
    static final Path BUSYBOX = Path.of("/bin/busybox");
    /** kubelet's default masked and read-only paths (it sends them in every CreateContainer). */
    private static final List<String> MASKED = List.of("/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware", "/sys/devices/virtual/powercap");
    private static final List<String> READONLY = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    /** A pod of a wave and its one container. */
    private record Running(String pod, String container) {
    }

    private final RuntimeServiceGrpc.RuntimeServiceBlockingStub cri;
    private final ImageServiceGrpc.ImageServiceBlockingStub images;
    private final Path scratch;
    private final String cgroupParent;

    PodTraining(RuntimeServiceGrpc.RuntimeServiceBlockingStub cri, ImageServiceGrpc.ImageServiceBlockingStub images,
            Path scratch, String cgroupParent) {
        this.cri = cri;
        this.images = images;
        this.scratch = scratch;
        this.cgroupParent = cgroupParent;
    }

    /** Why pods cannot or should not be made here (a notice), or null when they can. */
    static String missing() throws IOException {
        if (!Boolean.parseBoolean(System.getProperty("berth.aot.pods", "true"))) return "built with -Dberth.aot.pods=false";
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (uid != 0) return "the build is not root, and making a container needs root";
        if (!Files.isRegularFile(BUSYBOX)) return BUSYBOX + " is missing (Debian's busybox-static)";
        return null;
    }

    /** Runs the waves; a call that fails fails the training (and so the build), after its pods are removed. */
    void run(TrainingRegistry registry) throws IOException {
        var network = cri.status(StatusRequest.getDefaultInstance()).getStatus().getConditionsList().stream()
                .filter(c -> c.getType().equals(NodeConditions.NETWORK_READY)).findFirst().orElseThrow();
        if (!network.getStatus()) {
            System.out.println("NOTICE: the agent's AOT training runs no pods, its pod network is not ready ("
                    + network.getMessage() + "): a fresh agent's first pods will run slower");
            return;
        }
        String user = registry.busyboxReference();
        String imageRef = images.pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(user)).build())
                .getImageRef();
        var pods = new ArrayList<String>();
        try {
            for (int w = 0; w < WAVES; w++) {
                var wave = new ArrayList<Running>();
                for (int i = 0; i < WAVE; i++) {
                    String name = "train-" + w + "-" + i;
                    PodSandboxConfig pod = pod(name);
                    String id = cri.runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod).build())
                            .getPodSandboxId();
                    pods.add(id);
                    cri.podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(id).setVerbose(true).build());
                    String c = cri.createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(id).setSandboxConfig(pod)
                            .setConfig(container(name, imageRef, user)).build()).getContainerId();
                    cri.startContainer(StartContainerRequest.newBuilder().setContainerId(c).build());
                    cri.containerStatus(ContainerStatusRequest.newBuilder().setContainerId(c).build());
                    wave.add(new Running(id, c));
                }
                // What kubelet does while they run: relists, status and stats, probes by exec.
                cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance());
                cri.listContainers(ListContainersRequest.getDefaultInstance());
                cri.listContainerStats(ListContainerStatsRequest.getDefaultInstance());
                for (Running r : wave) {
                    cri.listContainers(ListContainersRequest.newBuilder()
                            .setFilter(ContainerFilter.newBuilder().setId(r.container())).build());
                    cri.containerStats(ContainerStatsRequest.newBuilder().setContainerId(r.container()).build());
                    var exec = cri.execSync(ExecSyncRequest.newBuilder().setContainerId(r.container()).addCmd("cat")
                            .addCmd("/etc/hostname").setTimeout(10).build());
                    if (exec.getExitCode() != 0) {
                        throw new IOException("ExecSync in training container " + r.container() + " exited "
                                + exec.getExitCode() + ": " + exec.getStderr().toStringUtf8());
                    }
                    cri.containerStatus(ContainerStatusRequest.newBuilder().setContainerId(r.container()).setVerbose(true).build());
                }
                // Deleted as kubelet deletes a pod: stop the container, the sandbox, then remove both.
                for (Running r : wave) {
                    cri.stopContainer(StopContainerRequest.newBuilder().setContainerId(r.container()).setTimeout(10).build());
                    cri.containerStatus(ContainerStatusRequest.newBuilder().setContainerId(r.container()).build());
                    cri.removeContainer(RemoveContainerRequest.newBuilder().setContainerId(r.container()).build());
                    cri.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(r.pod()).build());
                    cri.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(r.pod()).build());
                    pods.remove(r.pod());
                }
            }
        } finally {
            for (String id : pods) { // after a failure: remove what is left, keeping the failure
                try {
                    cri.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                } catch (RuntimeException e) {
                    System.err.println("AOT training: pod " + id + " not removed: " + e.getMessage());
                }
            }
        }
    }

    /** A pod as kubelet asks for one: its own network, IPC and UTS namespaces, DNS, a declared port, labels. */
    private PodSandboxConfig pod(String name) {
        String uid = java.util.UUID.randomUUID().toString();
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("training").setUid(uid))
                .setHostname(name)
                .setLogDirectory(scratch.resolve("pods").resolve("training_" + name + "_" + uid).toString())
                .setDnsConfig(DNSConfig.newBuilder().addServers("10.96.0.10").addSearches("training.svc.cluster.local")
                        .addSearches("svc.cluster.local").addOptions("ndots:5"))
                .addPortMappings(PortMapping.newBuilder().setProtocol(Protocol.TCP).setContainerPort(8080))
                .putLabels("io.kubernetes.pod.name", name).putLabels("io.kubernetes.pod.namespace", "training")
                .putLabels("io.kubernetes.pod.uid", uid)
                .putAnnotations("kubernetes.io/config.source", "api")
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroupParent + "/pod" + uid)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
                                .setNamespaceOptions(NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER))
                                .setSeccomp(SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.RuntimeDefault)))
                        .setResources(LinuxContainerResources.newBuilder().setCpuPeriod(100_000).setCpuQuota(50_000)
                                .setCpuShares(512).setMemoryLimitInBytes(128 << 20)))
                .build();
    }

    /** A container as kubelet asks for one: the image by its ID, env, mounts, limits, the default masked paths. */
    private ContainerConfig container(String pod, String imageRef, String userImage) throws IOException {
        Path files = Files.createDirectories(scratch.resolve("files").resolve(pod));
        Path termination = Files.writeString(files.resolve("termination-log"), "");
        Path token = Files.createDirectories(files.resolve("serviceaccount"));
        Files.writeString(token.resolve("namespace"), "training");
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName("main"))
                .setImage(ImageSpec.newBuilder().setImage(imageRef).setUserSpecifiedImage(userImage))
                .addCommand("sh").addCommand("-c").addCommand("trap 'exit 0' TERM; sleep 3600 & wait")
                .setWorkingDir("/")
                .addEnvs(KeyValue.newBuilder().setKey("KUBERNETES_SERVICE_HOST").setValue("10.96.0.1"))
                .addEnvs(KeyValue.newBuilder().setKey("KUBERNETES_SERVICE_PORT").setValue("443"))
                .addEnvs(KeyValue.newBuilder().setKey("POD_NAME").setValue(pod))
                .addMounts(Mount.newBuilder().setContainerPath("/dev/termination-log").setHostPath(termination.toString()))
                .addMounts(Mount.newBuilder().setContainerPath("/var/run/secrets/kubernetes.io/serviceaccount")
                        .setHostPath(token.toString()).setReadonly(true))
                .putLabels("io.kubernetes.container.name", "main").putLabels("io.kubernetes.pod.name", pod)
                .putAnnotations("io.kubernetes.container.restartCount", "0")
                .setLogPath("main/0.log")
                .setLinux(LinuxContainerConfig.newBuilder()
                        .setResources(LinuxContainerResources.newBuilder().setCpuPeriod(100_000).setCpuQuota(50_000)
                                .setCpuShares(512).setMemoryLimitInBytes(128 << 20).setOomScoreAdj(999))
                        .setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                                .setNamespaceOptions(NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER))
                                .setSeccomp(SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.RuntimeDefault))
                                .addAllMaskedPaths(MASKED).addAllReadonlyPaths(READONLY)))
                .build();
    }
}
