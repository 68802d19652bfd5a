package io.berth.agent.cri.container;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerPlan;
import io.berth.agent.container.ContainerRequest;
import io.berth.agent.domain.BerthException;
import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.ContainerState;
import io.berth.cri.v1.ContainerStatus;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.LinuxContainerResources;
import io.berth.cri.v1.Mount;
import io.berth.cri.v1.MountPropagation;
import io.berth.cri.v1.SecurityProfile;
import io.berth.cri.v1.Signal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** CRI container messages ↔ the agent's container records: the only place that knows both. */
public final class ContainerMapping {
    private ContainerMapping() {
    }

    static ContainerRequest toRequest(ContainerConfig c) {
        if (!c.hasMetadata() || c.getMetadata().getName().isEmpty()) {
            throw BerthException.invalid("ContainerConfig.metadata.name is required");
        }
        if (c.getImage().getImage().isEmpty()) {
            throw BerthException.invalid("container " + c.getMetadata().getName() + ": ContainerConfig.image is required");
        }
        if (c.getCDIDevicesCount() > 0) {
            // CDI (Container Device Interface) names need the vendors' spec files (/etc/cdi, /var/run/cdi)
            // applied as OCI edits: env, mounts, hooks. berth resolves none of them; never a silent skip.
            throw BerthException.invalid("container " + c.getMetadata().getName() + ": CDI devices "
                    + c.getCDIDevicesList().stream().map(d -> d.getName()).toList()
                    + " are not supported by berth (CDI is not implemented; ContainerConfig.devices is)");
        }
        var env = new LinkedHashMap<String, String>();
        c.getEnvsList().forEach(kv -> env.put(kv.getKey(), kv.getValue()));
        var sc = c.getLinux().getSecurityContext();
        var ns = sc.getNamespaceOptions();
        var security = new ContainerRequest.Security(
                sc.getPrivileged(),
                sc.getCapabilities().getAddCapabilitiesList(),
                sc.getCapabilities().getDropCapabilitiesList(),
                sc.getReadonlyRootfs(),
                sc.hasRunAsUser() ? sc.getRunAsUser().getValue() : null,
                sc.hasRunAsGroup() ? sc.getRunAsGroup().getValue() : null,
                sc.getRunAsUsername(),
                sc.getSupplementalGroupsList(),
                sc.getNoNewPrivs(),
                seccomp(sc.hasSeccomp() ? sc.getSeccomp() : null, sc.getSeccompProfilePath()),
                ns.getPid().name(),
                ns.getTargetId(),
                c.getLinux().getResources().getOomScoreAdj(),
                sc.getMaskedPathsList(),
                sc.getReadonlyPathsList());
        return new ContainerRequest(
                c.getMetadata().getName(),
                c.getMetadata().getAttempt(),
                c.getImage().getImage(),
                c.getCommandList(),
                c.getArgsList(),
                c.getWorkingDir(),
                env,
                c.getMountsList().stream().map(ContainerMapping::mount).toList(),
                c.getDevicesList().stream().map(d -> new ContainerRequest.Device(d.getHostPath(), d.getContainerPath(),
                        d.getPermissions())).toList(),
                c.getLabelsMap(),
                c.getAnnotationsMap(),
                c.getLogPath(),
                c.getStdin(),
                c.getStdinOnce(),
                c.getTty(),
                resources(c.getLinux().getResources()),
                security,
                c.getStopSignal() == Signal.RUNTIME_DEFAULT ? "" : c.getStopSignal().name());
    }

    static ContainerPlan.Resources resources(LinuxContainerResources r) {
        Map<String, Long> hugepages = r.getHugepageLimitsList().stream()
                .collect(Collectors.toMap(h -> h.getPageSize(), h -> h.getLimit(), (a, b) -> b, LinkedHashMap::new));
        return new ContainerPlan.Resources(r.getCpuShares(), r.getCpuQuota(), r.getCpuPeriod(), r.getCpusetCpus(),
                r.getCpusetMems(), r.getMemoryLimitInBytes(), 0, hugepages, r.getUnifiedMap());
    }

    static LinuxContainerResources resources(ContainerPlan.Resources r) {
        var out = LinuxContainerResources.newBuilder()
                .setCpuShares(r.cpuShares()).setCpuQuota(r.cpuQuota()).setCpuPeriod(r.cpuPeriod())
                .setCpusetCpus(r.cpusetCpus()).setCpusetMems(r.cpusetMems())
                .setMemoryLimitInBytes(r.memoryLimitBytes())
                .putAllUnified(r.unified());
        r.hugepageLimits().forEach((size, limit) -> out.addHugepageLimits(
                io.berth.cri.v1.HugepageLimit.newBuilder().setPageSize(size).setLimit(limit)));
        return out.build();
    }

    private static ContainerPlan.Seccomp seccomp(SecurityProfile p, String legacyPath) {
        if (p == null) {
            // The deprecated seccomp_profile_path: "runtime/default", "unconfined", "localhost/PATH"; empty
            // means unconfined (kubelet sends the new field since 1.22, old clients send this).
            if (legacyPath.equals("runtime/default") || legacyPath.equals("docker/default")) {
                return new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.RUNTIME_DEFAULT, "");
            }
            if (legacyPath.startsWith("localhost/")) {
                return new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.LOCALHOST, legacyPath.substring("localhost".length()));
            }
            return new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.UNCONFINED, "");
        }
        return switch (p.getProfileType()) {
            case RuntimeDefault -> new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.RUNTIME_DEFAULT, "");
            case Unconfined -> new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.UNCONFINED, "");
            case Localhost -> {
                if (p.getLocalhostRef().isEmpty()) {
                    throw BerthException.invalid("seccomp profile type Localhost needs localhost_ref");
                }
                yield new ContainerPlan.Seccomp(ContainerPlan.Seccomp.Kind.LOCALHOST, p.getLocalhostRef());
            }
            case UNRECOGNIZED -> throw BerthException.invalid("unknown seccomp profile type");
        };
    }

    private static ContainerPlan.Mount mount(Mount m) {
        if (m.getContainerPath().isEmpty()) {
            throw BerthException.invalid("a mount has no container_path (host_path " + m.getHostPath() + ")");
        }
        if (m.hasImage() && !m.getImage().getImage().isEmpty()) {
            throw BerthException.invalid("image volumes (mount of " + m.getImage().getImage() + " at "
                    + m.getContainerPath() + ") are not supported by berth yet");
        }
        String propagation = switch (m.getPropagation()) {
            case PROPAGATION_PRIVATE, UNRECOGNIZED -> "private";
            case PROPAGATION_HOST_TO_CONTAINER -> "rslave";
            case PROPAGATION_BIDIRECTIONAL -> "rshared";
        };
        var options = m.getReadonly() ? List.of("rbind", "ro") : List.of("rbind");
        return new ContainerPlan.Mount(m.getHostPath(), m.getContainerPath(), "bind", options, propagation, m.getReadonly());
    }

    static ContainerState state(Container.State s) {
        return switch (s) {
            case CREATED -> ContainerState.CONTAINER_CREATED;
            case RUNNING -> ContainerState.CONTAINER_RUNNING;
            case EXITED -> ContainerState.CONTAINER_EXITED;
            case UNKNOWN -> ContainerState.CONTAINER_UNKNOWN;
        };
    }

    static ContainerMetadata metadata(Container c) {
        return ContainerMetadata.newBuilder().setName(c.name()).setAttempt(c.attempt()).build();
    }

    static io.berth.cri.v1.Container toListItem(Container c) {
        return io.berth.cri.v1.Container.newBuilder()
                .setId(c.id())
                .setPodSandboxId(c.sandboxId())
                .setMetadata(metadata(c))
                .setImage(ImageSpec.newBuilder().setImage(c.imageRef()))
                .setImageRef(c.imageId())
                .setImageId(c.imageId())
                .setState(state(c.state()))
                .setCreatedAt(c.createdAt())
                .putAllLabels(c.labels())
                .putAllAnnotations(c.annotations())
                .build();
    }

    public static ContainerStatus toStatus(Container c) {
        var status = ContainerStatus.newBuilder()
                .setId(c.id())
                .setMetadata(metadata(c))
                .setState(state(c.state()))
                .setCreatedAt(c.createdAt())
                .setStartedAt(c.startedAt())
                .setFinishedAt(c.finishedAt())
                .setExitCode(c.exitCode())
                .setImage(ImageSpec.newBuilder().setImage(c.imageRef()))
                .setImageRef(c.imageId())
                .setImageId(c.imageId())
                .setReason(c.reason())
                .setMessage(c.message())
                .putAllLabels(c.labels())
                .putAllAnnotations(c.annotations())
                .setLogPath(c.logPath())
                .setResources(io.berth.cri.v1.ContainerResources.newBuilder().setLinux(resources(c.resources())));
        for (var m : c.mounts()) {
            status.addMounts(Mount.newBuilder()
                    .setContainerPath(m.destination())
                    .setHostPath(m.source())
                    .setReadonly(m.readonly())
                    .setPropagation(switch (m.propagation()) {
                        case "rslave" -> MountPropagation.PROPAGATION_HOST_TO_CONTAINER;
                        case "rshared" -> MountPropagation.PROPAGATION_BIDIRECTIONAL;
                        default -> MountPropagation.PROPAGATION_PRIVATE;
                    }));
        }
        return status.build();
    }
}
