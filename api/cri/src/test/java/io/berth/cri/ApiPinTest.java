package io.berth.cri;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.berth.cri.v1.Api;
import io.berth.cri.v1.ContainerConfig;
import io.berth.cri.v1.ExecSyncRequest;
import io.berth.cri.v1.ImageServiceGrpc;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.PodSandboxStatusResponse;
import io.berth.cri.v1.RuntimeServiceGrpc;
import io.berth.cri.v1.Signal;
import io.grpc.MethodDescriptor.MethodType;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Pins the compiled CRI {@code runtime.v1} API to upstream k8s.io/cri-api v0.36.0 (Kubernetes 1.36).
 *
 * <p>Every expected value below is a literal taken from the upstream
 * {@code pkg/apis/runtime/v1/api.proto} at v0.36.0 (sha256
 * e545595feb7d82c5433a443975c15f59ce5b04bb876ab30fb9c59c8eca4715c9), never computed from the
 * generated descriptors, so any drift of {@code api.proto} from upstream (a renumbered field, a
 * renamed RPC, a lost streaming flag, a field from a newer release) fails here. Wire compatibility
 * with kubelet and crictl depends on these exact names and numbers.
 */
class ApiPinTest {

    private static final FileDescriptor FILE = Api.getDescriptor();

    /** Every RPC of RuntimeService, sorted by name, as declared upstream. */
    private static final String RUNTIME_SERVICE_RPCS = """
        Attach(AttachRequest) returns (AttachResponse)
        CheckpointContainer(CheckpointContainerRequest) returns (CheckpointContainerResponse)
        ContainerStats(ContainerStatsRequest) returns (ContainerStatsResponse)
        ContainerStatus(ContainerStatusRequest) returns (ContainerStatusResponse)
        CreateContainer(CreateContainerRequest) returns (CreateContainerResponse)
        Exec(ExecRequest) returns (ExecResponse)
        ExecSync(ExecSyncRequest) returns (ExecSyncResponse)
        GetContainerEvents(GetEventsRequest) returns (stream ContainerEventResponse)
        ListContainerStats(ListContainerStatsRequest) returns (ListContainerStatsResponse)
        ListContainers(ListContainersRequest) returns (ListContainersResponse)
        ListMetricDescriptors(ListMetricDescriptorsRequest) returns (ListMetricDescriptorsResponse)
        ListPodSandbox(ListPodSandboxRequest) returns (ListPodSandboxResponse)
        ListPodSandboxMetrics(ListPodSandboxMetricsRequest) returns (ListPodSandboxMetricsResponse)
        ListPodSandboxStats(ListPodSandboxStatsRequest) returns (ListPodSandboxStatsResponse)
        PodSandboxStats(PodSandboxStatsRequest) returns (PodSandboxStatsResponse)
        PodSandboxStatus(PodSandboxStatusRequest) returns (PodSandboxStatusResponse)
        PortForward(PortForwardRequest) returns (PortForwardResponse)
        RemoveContainer(RemoveContainerRequest) returns (RemoveContainerResponse)
        RemovePodSandbox(RemovePodSandboxRequest) returns (RemovePodSandboxResponse)
        ReopenContainerLog(ReopenContainerLogRequest) returns (ReopenContainerLogResponse)
        RunPodSandbox(RunPodSandboxRequest) returns (RunPodSandboxResponse)
        RuntimeConfig(RuntimeConfigRequest) returns (RuntimeConfigResponse)
        StartContainer(StartContainerRequest) returns (StartContainerResponse)
        Status(StatusRequest) returns (StatusResponse)
        StopContainer(StopContainerRequest) returns (StopContainerResponse)
        StopPodSandbox(StopPodSandboxRequest) returns (StopPodSandboxResponse)
        StreamContainerStats(StreamContainerStatsRequest) returns (stream StreamContainerStatsResponse)
        StreamContainers(StreamContainersRequest) returns (stream StreamContainersResponse)
        StreamPodSandboxMetrics(StreamPodSandboxMetricsRequest) returns (stream StreamPodSandboxMetricsResponse)
        StreamPodSandboxStats(StreamPodSandboxStatsRequest) returns (stream StreamPodSandboxStatsResponse)
        StreamPodSandboxes(StreamPodSandboxesRequest) returns (stream StreamPodSandboxesResponse)
        UpdateContainerResources(UpdateContainerResourcesRequest) returns (UpdateContainerResourcesResponse)
        UpdatePodSandboxResources(UpdatePodSandboxResourcesRequest) returns (UpdatePodSandboxResourcesResponse)
        UpdateRuntimeConfig(UpdateRuntimeConfigRequest) returns (UpdateRuntimeConfigResponse)
        Version(VersionRequest) returns (VersionResponse)
        """;

    /** Every RPC of ImageService, sorted by name, as declared upstream. */
    private static final String IMAGE_SERVICE_RPCS = """
        ImageFsInfo(ImageFsInfoRequest) returns (ImageFsInfoResponse)
        ImageStatus(ImageStatusRequest) returns (ImageStatusResponse)
        ListImages(ListImagesRequest) returns (ListImagesResponse)
        PullImage(PullImageRequest) returns (PullImageResponse)
        RemoveImage(RemoveImageRequest) returns (RemoveImageResponse)
        StreamImages(StreamImagesRequest) returns (stream StreamImagesResponse)
        """;

    /**
     * Every message in upstream declaration order, each with every field in declaration order:
     * {@code name = number : type}. Map fields are written {@code map<key,value>}.
     */
    private static final String MESSAGES = """
        message VersionRequest
            version = 1 : string
        message VersionResponse
            version = 1 : string
            runtime_name = 2 : string
            runtime_version = 3 : string
            runtime_api_version = 4 : string
        message DNSConfig
            servers = 1 : repeated string
            searches = 2 : repeated string
            options = 3 : repeated string
        message PortMapping
            protocol = 1 : Protocol
            container_port = 2 : int32
            host_port = 3 : int32
            host_ip = 4 : string
        message Mount
            container_path = 1 : string
            host_path = 2 : string
            readonly = 3 : bool
            selinux_relabel = 4 : bool
            propagation = 5 : MountPropagation
            uidMappings = 6 : repeated IDMapping
            gidMappings = 7 : repeated IDMapping
            recursive_read_only = 8 : bool
            image = 9 : ImageSpec
            image_sub_path = 10 : string
        message IDMapping
            host_id = 1 : uint32
            container_id = 2 : uint32
            length = 3 : uint32
        message UserNamespace
            mode = 1 : NamespaceMode
            uids = 2 : repeated IDMapping
            gids = 3 : repeated IDMapping
        message NamespaceOption
            network = 1 : NamespaceMode
            pid = 2 : NamespaceMode
            ipc = 3 : NamespaceMode
            target_id = 4 : string
            userns_options = 5 : UserNamespace
        message Int64Value
            value = 1 : int64
        message LinuxSandboxSecurityContext
            namespace_options = 1 : NamespaceOption
            selinux_options = 2 : SELinuxOption
            run_as_user = 3 : Int64Value
            run_as_group = 8 : Int64Value
            readonly_rootfs = 4 : bool
            supplemental_groups = 5 : repeated int64
            supplemental_groups_policy = 11 : SupplementalGroupsPolicy
            privileged = 6 : bool
            seccomp = 9 : SecurityProfile
            apparmor = 10 : SecurityProfile
            seccomp_profile_path = 7 : string
        message SecurityProfile
            profile_type = 1 : ProfileType
            localhost_ref = 2 : string
        message LinuxPodSandboxConfig
            cgroup_parent = 1 : string
            security_context = 2 : LinuxSandboxSecurityContext
            sysctls = 3 : map<string,string>
            overhead = 4 : LinuxContainerResources
            resources = 5 : LinuxContainerResources
        message PodSandboxMetadata
            name = 1 : string
            uid = 2 : string
            namespace = 3 : string
            attempt = 4 : uint32
        message PodSandboxConfig
            metadata = 1 : PodSandboxMetadata
            hostname = 2 : string
            log_directory = 3 : string
            dns_config = 4 : DNSConfig
            port_mappings = 5 : repeated PortMapping
            labels = 6 : map<string,string>
            annotations = 7 : map<string,string>
            linux = 8 : LinuxPodSandboxConfig
            windows = 9 : WindowsPodSandboxConfig
        message RunPodSandboxRequest
            config = 1 : PodSandboxConfig
            runtime_handler = 2 : string
        message RunPodSandboxResponse
            pod_sandbox_id = 1 : string
        message StopPodSandboxRequest
            pod_sandbox_id = 1 : string
        message StopPodSandboxResponse
        message RemovePodSandboxRequest
            pod_sandbox_id = 1 : string
        message RemovePodSandboxResponse
        message PodSandboxStatusRequest
            pod_sandbox_id = 1 : string
            verbose = 2 : bool
        message PodIP
            ip = 1 : string
        message PodSandboxNetworkStatus
            ip = 1 : string
            additional_ips = 2 : repeated PodIP
        message Namespace
            options = 2 : NamespaceOption
        message LinuxPodSandboxStatus
            namespaces = 1 : Namespace
        message PodSandboxStatus
            id = 1 : string
            metadata = 2 : PodSandboxMetadata
            state = 3 : PodSandboxState
            created_at = 4 : int64
            network = 5 : PodSandboxNetworkStatus
            linux = 6 : LinuxPodSandboxStatus
            labels = 7 : map<string,string>
            annotations = 8 : map<string,string>
            runtime_handler = 9 : string
        message PodSandboxStatusResponse
            status = 1 : PodSandboxStatus
            info = 2 : map<string,string>
            containers_statuses = 3 : repeated ContainerStatus
            timestamp = 4 : int64
        message PodSandboxStateValue
            state = 1 : PodSandboxState
        message PodSandboxFilter
            id = 1 : string
            state = 2 : PodSandboxStateValue
            label_selector = 3 : map<string,string>
        message ListPodSandboxRequest
            filter = 1 : PodSandboxFilter
        message PodSandbox
            id = 1 : string
            metadata = 2 : PodSandboxMetadata
            state = 3 : PodSandboxState
            created_at = 4 : int64
            labels = 5 : map<string,string>
            annotations = 6 : map<string,string>
            runtime_handler = 7 : string
        message ListPodSandboxResponse
            items = 1 : repeated PodSandbox
        message StreamPodSandboxesRequest
            filter = 1 : PodSandboxFilter
        message StreamPodSandboxesResponse
            pod_sandboxes = 1 : repeated PodSandbox
        message PodSandboxStatsRequest
            pod_sandbox_id = 1 : string
        message PodSandboxStatsResponse
            stats = 1 : PodSandboxStats
        message PodSandboxStatsFilter
            id = 1 : string
            label_selector = 2 : map<string,string>
        message ListPodSandboxStatsRequest
            filter = 1 : PodSandboxStatsFilter
        message ListPodSandboxStatsResponse
            stats = 1 : repeated PodSandboxStats
        message StreamPodSandboxStatsRequest
            filter = 1 : PodSandboxStatsFilter
        message StreamPodSandboxStatsResponse
            pod_sandbox_stats = 1 : repeated PodSandboxStats
        message PodSandboxAttributes
            id = 1 : string
            metadata = 2 : PodSandboxMetadata
            labels = 3 : map<string,string>
            annotations = 4 : map<string,string>
        message PodSandboxStats
            attributes = 1 : PodSandboxAttributes
            linux = 2 : LinuxPodSandboxStats
            windows = 3 : WindowsPodSandboxStats
        message LinuxPodSandboxStats
            cpu = 1 : CpuUsage
            memory = 2 : MemoryUsage
            network = 3 : NetworkUsage
            process = 4 : ProcessUsage
            containers = 5 : repeated ContainerStats
            io = 6 : IoUsage
        message WindowsPodSandboxStats
            cpu = 1 : WindowsCpuUsage
            memory = 2 : WindowsMemoryUsage
            network = 3 : WindowsNetworkUsage
            process = 4 : WindowsProcessUsage
            containers = 5 : repeated WindowsContainerStats
        message NetworkUsage
            timestamp = 1 : int64
            default_interface = 2 : NetworkInterfaceUsage
            interfaces = 3 : repeated NetworkInterfaceUsage
        message WindowsNetworkUsage
            timestamp = 1 : int64
            default_interface = 2 : WindowsNetworkInterfaceUsage
            interfaces = 3 : repeated WindowsNetworkInterfaceUsage
        message NetworkInterfaceUsage
            name = 1 : string
            rx_bytes = 2 : UInt64Value
            rx_errors = 3 : UInt64Value
            tx_bytes = 4 : UInt64Value
            tx_errors = 5 : UInt64Value
        message WindowsNetworkInterfaceUsage
            name = 1 : string
            rx_bytes = 2 : UInt64Value
            rx_packets_dropped = 3 : UInt64Value
            tx_bytes = 4 : UInt64Value
            tx_packets_dropped = 5 : UInt64Value
        message ProcessUsage
            timestamp = 1 : int64
            process_count = 2 : UInt64Value
        message WindowsProcessUsage
            timestamp = 1 : int64
            process_count = 2 : UInt64Value
        message ImageSpec
            image = 1 : string
            annotations = 2 : map<string,string>
            user_specified_image = 18 : string
            runtime_handler = 19 : string
            image_ref = 20 : string
        message KeyValue
            key = 1 : string
            value = 2 : string
        message LinuxContainerResources
            cpu_period = 1 : int64
            cpu_quota = 2 : int64
            cpu_shares = 3 : int64
            memory_limit_in_bytes = 4 : int64
            oom_score_adj = 5 : int64
            cpuset_cpus = 6 : string
            cpuset_mems = 7 : string
            hugepage_limits = 8 : repeated HugepageLimit
            unified = 9 : map<string,string>
            memory_swap_limit_in_bytes = 10 : int64
        message HugepageLimit
            page_size = 1 : string
            limit = 2 : uint64
        message SELinuxOption
            user = 1 : string
            role = 2 : string
            type = 3 : string
            level = 4 : string
        message Capability
            add_capabilities = 1 : repeated string
            drop_capabilities = 2 : repeated string
            add_ambient_capabilities = 3 : repeated string
        message LinuxContainerSecurityContext
            capabilities = 1 : Capability
            privileged = 2 : bool
            namespace_options = 3 : NamespaceOption
            selinux_options = 4 : SELinuxOption
            run_as_user = 5 : Int64Value
            run_as_group = 12 : Int64Value
            run_as_username = 6 : string
            readonly_rootfs = 7 : bool
            supplemental_groups = 8 : repeated int64
            supplemental_groups_policy = 17 : SupplementalGroupsPolicy
            no_new_privs = 11 : bool
            masked_paths = 13 : repeated string
            readonly_paths = 14 : repeated string
            seccomp = 15 : SecurityProfile
            apparmor = 16 : SecurityProfile
            apparmor_profile = 9 : string
            seccomp_profile_path = 10 : string
        message LinuxContainerConfig
            resources = 1 : LinuxContainerResources
            security_context = 2 : LinuxContainerSecurityContext
        message LinuxContainerUser
            uid = 1 : int64
            gid = 2 : int64
            supplemental_groups = 3 : repeated int64
        message WindowsNamespaceOption
            network = 1 : NamespaceMode
        message WindowsSandboxSecurityContext
            run_as_username = 1 : string
            credential_spec = 2 : string
            host_process = 3 : bool
            namespace_options = 4 : WindowsNamespaceOption
        message WindowsPodSandboxConfig
            security_context = 1 : WindowsSandboxSecurityContext
        message WindowsContainerSecurityContext
            run_as_username = 1 : string
            credential_spec = 2 : string
            host_process = 3 : bool
        message WindowsContainerConfig
            resources = 1 : WindowsContainerResources
            security_context = 2 : WindowsContainerSecurityContext
        message WindowsContainerResources
            cpu_shares = 1 : int64
            cpu_count = 2 : int64
            cpu_maximum = 3 : int64
            memory_limit_in_bytes = 4 : int64
            rootfs_size_in_bytes = 5 : int64
            affinity_cpus = 6 : repeated WindowsCpuGroupAffinity
        message WindowsCpuGroupAffinity
            cpu_mask = 1 : uint64
            cpu_group = 2 : uint32
        message ContainerMetadata
            name = 1 : string
            attempt = 2 : uint32
        message Device
            container_path = 1 : string
            host_path = 2 : string
            permissions = 3 : string
        message CDIDevice
            name = 1 : string
        message ContainerConfig
            metadata = 1 : ContainerMetadata
            image = 2 : ImageSpec
            command = 3 : repeated string
            args = 4 : repeated string
            working_dir = 5 : string
            envs = 6 : repeated KeyValue
            mounts = 7 : repeated Mount
            devices = 8 : repeated Device
            labels = 9 : map<string,string>
            annotations = 10 : map<string,string>
            log_path = 11 : string
            stdin = 12 : bool
            stdin_once = 13 : bool
            tty = 14 : bool
            linux = 15 : LinuxContainerConfig
            windows = 16 : WindowsContainerConfig
            CDI_devices = 17 : repeated CDIDevice
            stop_signal = 18 : Signal
        message CreateContainerRequest
            pod_sandbox_id = 1 : string
            config = 2 : ContainerConfig
            sandbox_config = 3 : PodSandboxConfig
        message CreateContainerResponse
            container_id = 1 : string
        message StartContainerRequest
            container_id = 1 : string
        message StartContainerResponse
        message StopContainerRequest
            container_id = 1 : string
            timeout = 2 : int64
        message StopContainerResponse
        message RemoveContainerRequest
            container_id = 1 : string
        message RemoveContainerResponse
        message ContainerStateValue
            state = 1 : ContainerState
        message ContainerFilter
            id = 1 : string
            state = 2 : ContainerStateValue
            pod_sandbox_id = 3 : string
            label_selector = 4 : map<string,string>
        message ListContainersRequest
            filter = 1 : ContainerFilter
        message Container
            id = 1 : string
            pod_sandbox_id = 2 : string
            metadata = 3 : ContainerMetadata
            image = 4 : ImageSpec
            image_ref = 5 : string
            state = 6 : ContainerState
            created_at = 7 : int64
            labels = 8 : map<string,string>
            annotations = 9 : map<string,string>
            image_id = 10 : string
        message ListContainersResponse
            containers = 1 : repeated Container
        message StreamContainersRequest
            filter = 1 : ContainerFilter
        message StreamContainersResponse
            containers = 1 : repeated Container
        message ContainerStatusRequest
            container_id = 1 : string
            verbose = 2 : bool
        message ContainerStatus
            id = 1 : string
            metadata = 2 : ContainerMetadata
            state = 3 : ContainerState
            created_at = 4 : int64
            started_at = 5 : int64
            finished_at = 6 : int64
            exit_code = 7 : int32
            image = 8 : ImageSpec
            image_ref = 9 : string
            reason = 10 : string
            message = 11 : string
            labels = 12 : map<string,string>
            annotations = 13 : map<string,string>
            mounts = 14 : repeated Mount
            log_path = 15 : string
            resources = 16 : ContainerResources
            image_id = 17 : string
            user = 18 : ContainerUser
            stop_signal = 19 : Signal
        message ContainerStatusResponse
            status = 1 : ContainerStatus
            info = 2 : map<string,string>
        message ContainerResources
            linux = 1 : LinuxContainerResources
            windows = 2 : WindowsContainerResources
        message ContainerUser
            linux = 1 : LinuxContainerUser
        message UpdateContainerResourcesRequest
            container_id = 1 : string
            linux = 2 : LinuxContainerResources
            windows = 3 : WindowsContainerResources
            annotations = 4 : map<string,string>
        message UpdateContainerResourcesResponse
        message ExecSyncRequest
            container_id = 1 : string
            cmd = 2 : repeated string
            timeout = 3 : int64
        message ExecSyncResponse
            stdout = 1 : bytes
            stderr = 2 : bytes
            exit_code = 3 : int32
        message ExecRequest
            container_id = 1 : string
            cmd = 2 : repeated string
            tty = 3 : bool
            stdin = 4 : bool
            stdout = 5 : bool
            stderr = 6 : bool
        message ExecResponse
            url = 1 : string
        message AttachRequest
            container_id = 1 : string
            stdin = 2 : bool
            tty = 3 : bool
            stdout = 4 : bool
            stderr = 5 : bool
        message AttachResponse
            url = 1 : string
        message PortForwardRequest
            pod_sandbox_id = 1 : string
            port = 2 : repeated int32
        message PortForwardResponse
            url = 1 : string
        message ImageFilter
            image = 1 : ImageSpec
        message ListImagesRequest
            filter = 1 : ImageFilter
        message Image
            id = 1 : string
            repo_tags = 2 : repeated string
            repo_digests = 3 : repeated string
            size = 4 : uint64
            uid = 5 : Int64Value
            username = 6 : string
            spec = 7 : ImageSpec
            pinned = 8 : bool
        message ListImagesResponse
            images = 1 : repeated Image
        message StreamImagesRequest
            filter = 1 : ImageFilter
        message StreamImagesResponse
            images = 1 : repeated Image
        message ImageStatusRequest
            image = 1 : ImageSpec
            verbose = 2 : bool
        message ImageStatusResponse
            image = 1 : Image
            info = 2 : map<string,string>
        message AuthConfig
            username = 1 : string
            password = 2 : string
            auth = 3 : string
            server_address = 4 : string
            identity_token = 5 : string
            registry_token = 6 : string
        message PullImageRequest
            image = 1 : ImageSpec
            auth = 2 : AuthConfig
            sandbox_config = 3 : PodSandboxConfig
        message PullImageResponse
            image_ref = 1 : string
        message RemoveImageRequest
            image = 1 : ImageSpec
        message RemoveImageResponse
        message NetworkConfig
            pod_cidr = 1 : string
        message RuntimeConfig
            network_config = 1 : NetworkConfig
        message UpdateRuntimeConfigRequest
            runtime_config = 1 : RuntimeConfig
        message UpdateRuntimeConfigResponse
        message RuntimeCondition
            type = 1 : string
            status = 2 : bool
            reason = 3 : string
            message = 4 : string
        message RuntimeStatus
            conditions = 1 : repeated RuntimeCondition
        message StatusRequest
            verbose = 1 : bool
        message RuntimeHandlerFeatures
            recursive_read_only_mounts = 1 : bool
            user_namespaces = 2 : bool
        message RuntimeHandler
            name = 1 : string
            features = 2 : RuntimeHandlerFeatures
        message RuntimeFeatures
            supplemental_groups_policy = 1 : bool
            user_namespaces_host_network = 2 : bool
        message StatusResponse
            status = 1 : RuntimeStatus
            info = 2 : map<string,string>
            runtime_handlers = 3 : repeated RuntimeHandler
            features = 4 : RuntimeFeatures
        message ImageFsInfoRequest
        message UInt64Value
            value = 1 : uint64
        message FilesystemIdentifier
            mountpoint = 1 : string
        message FilesystemUsage
            timestamp = 1 : int64
            fs_id = 2 : FilesystemIdentifier
            used_bytes = 3 : UInt64Value
            inodes_used = 4 : UInt64Value
        message WindowsFilesystemUsage
            timestamp = 1 : int64
            fs_id = 2 : FilesystemIdentifier
            used_bytes = 3 : UInt64Value
        message ImageFsInfoResponse
            image_filesystems = 1 : repeated FilesystemUsage
            container_filesystems = 2 : repeated FilesystemUsage
        message ContainerStatsRequest
            container_id = 1 : string
        message ContainerStatsResponse
            stats = 1 : ContainerStats
        message ListContainerStatsRequest
            filter = 1 : ContainerStatsFilter
        message ContainerStatsFilter
            id = 1 : string
            pod_sandbox_id = 2 : string
            label_selector = 3 : map<string,string>
        message ListContainerStatsResponse
            stats = 1 : repeated ContainerStats
        message StreamContainerStatsRequest
            filter = 1 : ContainerStatsFilter
        message StreamContainerStatsResponse
            container_stats = 1 : repeated ContainerStats
        message ContainerAttributes
            id = 1 : string
            metadata = 2 : ContainerMetadata
            labels = 3 : map<string,string>
            annotations = 4 : map<string,string>
        message ContainerStats
            attributes = 1 : ContainerAttributes
            cpu = 2 : CpuUsage
            memory = 3 : MemoryUsage
            writable_layer = 4 : FilesystemUsage
            swap = 5 : SwapUsage
            io = 6 : IoUsage
        message WindowsContainerStats
            attributes = 1 : ContainerAttributes
            cpu = 2 : WindowsCpuUsage
            memory = 3 : WindowsMemoryUsage
            writable_layer = 4 : WindowsFilesystemUsage
        message PsiStats
            Full = 1 : PsiData
            Some = 2 : PsiData
        message PsiData
            Total = 1 : uint64
            Avg10 = 2 : double
            Avg60 = 3 : double
            Avg300 = 4 : double
        message CpuUsage
            timestamp = 1 : int64
            usage_core_nano_seconds = 2 : UInt64Value
            usage_nano_cores = 3 : UInt64Value
            psi = 4 : PsiStats
        message WindowsCpuUsage
            timestamp = 1 : int64
            usage_core_nano_seconds = 2 : UInt64Value
            usage_nano_cores = 3 : UInt64Value
        message MemoryUsage
            timestamp = 1 : int64
            working_set_bytes = 2 : UInt64Value
            available_bytes = 3 : UInt64Value
            usage_bytes = 4 : UInt64Value
            rss_bytes = 5 : UInt64Value
            page_faults = 6 : UInt64Value
            major_page_faults = 7 : UInt64Value
            psi = 8 : PsiStats
        message IoUsage
            timestamp = 1 : int64
            psi = 2 : PsiStats
        message SwapUsage
            timestamp = 1 : int64
            swap_available_bytes = 2 : UInt64Value
            swap_usage_bytes = 3 : UInt64Value
        message WindowsMemoryUsage
            timestamp = 1 : int64
            working_set_bytes = 2 : UInt64Value
            available_bytes = 3 : UInt64Value
            page_faults = 4 : UInt64Value
            commit_memory_bytes = 5 : UInt64Value
        message ReopenContainerLogRequest
            container_id = 1 : string
        message ReopenContainerLogResponse
        message CheckpointContainerRequest
            container_id = 1 : string
            location = 2 : string
            timeout = 3 : int64
        message CheckpointContainerResponse
        message GetEventsRequest
        message ContainerEventResponse
            container_id = 1 : string
            container_event_type = 2 : ContainerEventType
            created_at = 3 : int64
            pod_sandbox_status = 4 : PodSandboxStatus
            containers_statuses = 5 : repeated ContainerStatus
        message ListMetricDescriptorsRequest
        message ListMetricDescriptorsResponse
            descriptors = 1 : repeated MetricDescriptor
        message MetricDescriptor
            name = 1 : string
            help = 2 : string
            label_keys = 3 : repeated string
        message ListPodSandboxMetricsRequest
        message ListPodSandboxMetricsResponse
            pod_metrics = 1 : repeated PodSandboxMetrics
        message StreamPodSandboxMetricsRequest
        message StreamPodSandboxMetricsResponse
            pod_sandbox_metrics = 1 : repeated PodSandboxMetrics
        message PodSandboxMetrics
            pod_sandbox_id = 1 : string
            metrics = 2 : repeated Metric
            container_metrics = 3 : repeated ContainerMetrics
        message ContainerMetrics
            container_id = 1 : string
            metrics = 2 : repeated Metric
        message Metric
            name = 1 : string
            timestamp = 2 : int64
            metric_type = 3 : MetricType
            label_values = 4 : repeated string
            value = 5 : UInt64Value
        message RuntimeConfigRequest
        message RuntimeConfigResponse
            linux = 1 : LinuxRuntimeConfiguration
        message LinuxRuntimeConfiguration
            cgroup_driver = 1 : CgroupDriver
        message UpdatePodSandboxResourcesRequest
            pod_sandbox_id = 1 : string
            overhead = 2 : LinuxContainerResources
            resources = 3 : LinuxContainerResources
        message UpdatePodSandboxResourcesResponse
        """;

    /** Every enum (top-level, then nested as Outer.Inner) with every value in declaration order. */
    private static final String ENUMS = """
        enum Protocol
            TCP = 0
            UDP = 1
            SCTP = 2
        enum MountPropagation
            PROPAGATION_PRIVATE = 0
            PROPAGATION_HOST_TO_CONTAINER = 1
            PROPAGATION_BIDIRECTIONAL = 2
        enum NamespaceMode
            POD = 0
            CONTAINER = 1
            NODE = 2
            TARGET = 3
        enum SupplementalGroupsPolicy
            Merge = 0
            Strict = 1
        enum SecurityProfile.ProfileType
            RuntimeDefault = 0
            Unconfined = 1
            Localhost = 2
        enum PodSandboxState
            SANDBOX_READY = 0
            SANDBOX_NOTREADY = 1
        enum Signal
            RUNTIME_DEFAULT = 0
            SIGABRT = 1
            SIGALRM = 2
            SIGBUS = 3
            SIGCHLD = 4
            SIGCLD = 5
            SIGCONT = 6
            SIGFPE = 7
            SIGHUP = 8
            SIGILL = 9
            SIGINT = 10
            SIGIO = 11
            SIGIOT = 12
            SIGKILL = 13
            SIGPIPE = 14
            SIGPOLL = 15
            SIGPROF = 16
            SIGPWR = 17
            SIGQUIT = 18
            SIGSEGV = 19
            SIGSTKFLT = 20
            SIGSTOP = 21
            SIGSYS = 22
            SIGTERM = 23
            SIGTRAP = 24
            SIGTSTP = 25
            SIGTTIN = 26
            SIGTTOU = 27
            SIGURG = 28
            SIGUSR1 = 29
            SIGUSR2 = 30
            SIGVTALRM = 31
            SIGWINCH = 32
            SIGXCPU = 33
            SIGXFSZ = 34
            SIGRTMIN = 35
            SIGRTMINPLUS1 = 36
            SIGRTMINPLUS2 = 37
            SIGRTMINPLUS3 = 38
            SIGRTMINPLUS4 = 39
            SIGRTMINPLUS5 = 40
            SIGRTMINPLUS6 = 41
            SIGRTMINPLUS7 = 42
            SIGRTMINPLUS8 = 43
            SIGRTMINPLUS9 = 44
            SIGRTMINPLUS10 = 45
            SIGRTMINPLUS11 = 46
            SIGRTMINPLUS12 = 47
            SIGRTMINPLUS13 = 48
            SIGRTMINPLUS14 = 49
            SIGRTMINPLUS15 = 50
            SIGRTMAXMINUS14 = 51
            SIGRTMAXMINUS13 = 52
            SIGRTMAXMINUS12 = 53
            SIGRTMAXMINUS11 = 54
            SIGRTMAXMINUS10 = 55
            SIGRTMAXMINUS9 = 56
            SIGRTMAXMINUS8 = 57
            SIGRTMAXMINUS7 = 58
            SIGRTMAXMINUS6 = 59
            SIGRTMAXMINUS5 = 60
            SIGRTMAXMINUS4 = 61
            SIGRTMAXMINUS3 = 62
            SIGRTMAXMINUS2 = 63
            SIGRTMAXMINUS1 = 64
            SIGRTMAX = 65
        enum ContainerState
            CONTAINER_CREATED = 0
            CONTAINER_RUNNING = 1
            CONTAINER_EXITED = 2
            CONTAINER_UNKNOWN = 3
        enum ContainerEventType
            CONTAINER_CREATED_EVENT = 0
            CONTAINER_STARTED_EVENT = 1
            CONTAINER_STOPPED_EVENT = 2
            CONTAINER_DELETED_EVENT = 3
        enum MetricType
            COUNTER = 0
            GAUGE = 1
        enum CgroupDriver
            SYSTEMD = 0
            CGROUPFS = 1
        """;

    // ---------------------------------------------------------------- file and services

    @Test
    void fileIsPackageRuntimeV1WithoutImports() {
        assertEquals("api.proto", FILE.getName());
        assertEquals("runtime.v1", FILE.getPackage());
        assertEquals("proto3", FILE.toProto().getSyntax());
        assertTrue(FILE.getDependencies().isEmpty(), "api.proto must not import anything (no gogoproto)");
        assertEquals("io.berth.cri.v1", FILE.getOptions().getJavaPackage());
        assertTrue(FILE.getOptions().getJavaMultipleFiles());
        assertEquals(170, FILE.getMessageTypes().size(), "top-level messages in upstream v0.36.0");
        assertEquals(10, FILE.getEnumTypes().size(), "top-level enums in upstream v0.36.0");
        assertEquals(2, FILE.getServices().size());
    }

    @Test
    void grpcServiceNames() {
        assertEquals("runtime.v1.RuntimeService", RuntimeServiceGrpc.SERVICE_NAME);
        assertEquals("runtime.v1.ImageService", ImageServiceGrpc.SERVICE_NAME);
        assertEquals("runtime.v1.RuntimeService", RuntimeServiceGrpc.getServiceDescriptor().getName());
        assertEquals("runtime.v1.ImageService", ImageServiceGrpc.getServiceDescriptor().getName());
        assertEquals("runtime.v1.RuntimeService", FILE.findServiceByName("RuntimeService").getFullName());
        assertEquals("runtime.v1.ImageService", FILE.findServiceByName("ImageService").getFullName());
    }

    @Test
    void runtimeServiceRpcNames() {
        List<String> names = rpcNames(FILE.findServiceByName("RuntimeService"));
        assertEquals(35, names.size());
        assertEquals(List.of(
                "Attach", "CheckpointContainer", "ContainerStats", "ContainerStatus", "CreateContainer",
                "Exec", "ExecSync", "GetContainerEvents", "ListContainerStats", "ListContainers",
                "ListMetricDescriptors", "ListPodSandbox", "ListPodSandboxMetrics", "ListPodSandboxStats",
                "PodSandboxStats", "PodSandboxStatus", "PortForward", "RemoveContainer", "RemovePodSandbox",
                "ReopenContainerLog", "RunPodSandbox", "RuntimeConfig", "StartContainer", "Status",
                "StopContainer", "StopPodSandbox", "StreamContainerStats", "StreamContainers",
                "StreamPodSandboxMetrics", "StreamPodSandboxStats", "StreamPodSandboxes",
                "UpdateContainerResources", "UpdatePodSandboxResources", "UpdateRuntimeConfig", "Version"),
                names);
    }

    @Test
    void imageServiceRpcNames() {
        List<String> names = rpcNames(FILE.findServiceByName("ImageService"));
        assertEquals(List.of(
                "ImageFsInfo", "ImageStatus", "ListImages", "PullImage", "RemoveImage", "StreamImages"), names);
    }

    @Test
    void runtimeServiceSignatures() {
        assertEquals(lines(RUNTIME_SERVICE_RPCS), signatures(FILE.findServiceByName("RuntimeService")));
    }

    @Test
    void imageServiceSignatures() {
        assertEquals(lines(IMAGE_SERVICE_RPCS), signatures(FILE.findServiceByName("ImageService")));
    }

    @Test
    void streamingFlags() {
        assertEquals(List.of("GetContainerEvents", "StreamContainerStats", "StreamContainers",
                        "StreamPodSandboxMetrics", "StreamPodSandboxStats", "StreamPodSandboxes"),
                serverStreaming(FILE.findServiceByName("RuntimeService")));
        assertEquals(List.of("StreamImages"), serverStreaming(FILE.findServiceByName("ImageService")));
        for (ServiceDescriptor service : FILE.getServices()) {
            for (MethodDescriptor m : service.getMethods()) {
                assertFalse(m.isClientStreaming(), m.getFullName() + " must not be client-streaming");
            }
        }
    }

    @Test
    void grpcMethodDescriptorsMatch() {
        assertGrpcMethods(RuntimeServiceGrpc.getServiceDescriptor(), "runtime.v1.RuntimeService",
                RUNTIME_SERVICE_RPCS);
        assertGrpcMethods(ImageServiceGrpc.getServiceDescriptor(), "runtime.v1.ImageService",
                IMAGE_SERVICE_RPCS);
        // A few spelled out, so a failure reads plainly.
        assertEquals("runtime.v1.RuntimeService/GetContainerEvents",
                RuntimeServiceGrpc.getGetContainerEventsMethod().getFullMethodName());
        assertEquals(MethodType.SERVER_STREAMING, RuntimeServiceGrpc.getGetContainerEventsMethod().getType());
        assertEquals(MethodType.SERVER_STREAMING, RuntimeServiceGrpc.getStreamContainersMethod().getType());
        assertEquals(MethodType.UNARY, RuntimeServiceGrpc.getExecSyncMethod().getType());
        assertEquals("runtime.v1.ImageService/PullImage", ImageServiceGrpc.getPullImageMethod().getFullMethodName());
        assertEquals(MethodType.SERVER_STREAMING, ImageServiceGrpc.getStreamImagesMethod().getType());
    }

    // ---------------------------------------------------------------- messages and fields

    @Test
    void everyMessageAndFieldMatchesUpstream() {
        Map<String, List<String>> expected = parseBlock(MESSAGES, "message ");
        Map<String, List<String>> actual = new LinkedHashMap<>();
        for (Descriptor m : FILE.getMessageTypes()) {
            List<String> fields = new ArrayList<>();
            for (FieldDescriptor f : m.getFields()) {
                fields.add(f.getName() + " = " + f.getNumber() + " : " + typeOf(f));
            }
            actual.put(m.getName(), fields);
        }
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(actual.keySet()), "message names and order");
        for (Map.Entry<String, List<String>> e : expected.entrySet()) {
            assertEquals(e.getValue(), actual.get(e.getKey()), "fields of " + e.getKey());
        }
    }

    @Test
    void sampleFieldNumbersSpelledOut() {
        // Redundant with the full table, but readable on its own: the fields kubelet leans on most.
        assertField("PodSandboxConfig", "metadata", 1);
        assertField("PodSandboxConfig", "log_directory", 3);
        assertField("PodSandboxConfig", "port_mappings", 5);
        assertField("PodSandboxConfig", "annotations", 7);
        assertField("PodSandboxConfig", "linux", 8);
        assertField("PodSandboxConfig", "windows", 9);
        assertField("ContainerConfig", "image", 2);
        assertField("ContainerConfig", "envs", 6);
        assertField("ContainerConfig", "mounts", 7);
        assertField("ContainerConfig", "log_path", 11);
        assertField("ContainerConfig", "tty", 14);
        assertField("ContainerConfig", "linux", 15);
        assertField("ContainerConfig", "CDI_devices", 17);
        assertField("ContainerConfig", "stop_signal", 18);
        assertField("LinuxContainerResources", "cpu_period", 1);
        assertField("LinuxContainerResources", "cpu_quota", 2);
        assertField("LinuxContainerResources", "cpu_shares", 3);
        assertField("LinuxContainerResources", "memory_limit_in_bytes", 4);
        assertField("LinuxContainerResources", "oom_score_adj", 5);
        assertField("LinuxContainerResources", "unified", 9);
        assertField("LinuxContainerResources", "memory_swap_limit_in_bytes", 10);
        assertField("ContainerStatus", "state", 3);
        assertField("ContainerStatus", "exit_code", 7);
        assertField("ContainerStatus", "reason", 10);
        assertField("ContainerStatus", "image_id", 17);
        assertField("ContainerStatus", "user", 18);
        assertField("ContainerStatus", "stop_signal", 19);
        assertField("ExecSyncRequest", "container_id", 1);
        assertField("ExecSyncRequest", "cmd", 2);
        assertField("ExecSyncRequest", "timeout", 3);
        assertField("ExecSyncResponse", "exit_code", 3);
        assertField("AttachRequest", "stdin", 2);
        assertField("AttachRequest", "tty", 3);
        assertField("PullImageRequest", "image", 1);
        assertField("PullImageRequest", "auth", 2);
        assertField("PullImageRequest", "sandbox_config", 3);
        assertField("PullImageResponse", "image_ref", 1);
        assertField("ImageSpec", "user_specified_image", 18);
        assertField("ImageSpec", "runtime_handler", 19);
        assertField("ImageSpec", "image_ref", 20);
        assertField("ImageFsInfoResponse", "image_filesystems", 1);
        assertField("ImageFsInfoResponse", "container_filesystems", 2);
        assertField("StatusResponse", "runtime_handlers", 3);
        assertField("StatusResponse", "features", 4);
        assertField("RuntimeCondition", "type", 1);
        assertField("RuntimeCondition", "status", 2);
        assertField("RuntimeCondition", "reason", 3);
        assertField("RuntimeCondition", "message", 4);
        assertField("VersionResponse", "version", 1);
        assertField("VersionResponse", "runtime_name", 2);
        assertField("VersionResponse", "runtime_version", 3);
        assertField("VersionResponse", "runtime_api_version", 4);
        assertField("ContainerEventResponse", "container_id", 1);
        assertField("ContainerEventResponse", "container_event_type", 2);
        assertField("ContainerEventResponse", "created_at", 3);
        assertField("ContainerEventResponse", "pod_sandbox_status", 4);
        assertField("ContainerEventResponse", "containers_statuses", 5);
        assertField("LinuxContainerSecurityContext", "privileged", 2);
        assertField("LinuxContainerSecurityContext", "run_as_user", 5);
        assertField("LinuxContainerSecurityContext", "run_as_group", 12);
        assertField("LinuxContainerSecurityContext", "no_new_privs", 11);
        assertField("LinuxContainerSecurityContext", "seccomp", 15);
        assertField("LinuxContainerSecurityContext", "apparmor", 16);
        assertField("LinuxContainerSecurityContext", "supplemental_groups_policy", 17);
        assertField("LinuxSandboxSecurityContext", "run_as_group", 8);
        assertField("Mount", "image", 9);
        assertField("Mount", "image_sub_path", 10);
        assertField("Namespace", "options", 2);
        // Fields that only exist after v0.36.0 must not be here.
        assertEquals(null, msg("ExecRequest").findFieldByName("audit_request_id"));
        assertEquals(null, msg("AttachRequest").findFieldByName("audit_request_id"));
        assertEquals(null, msg("Mount").findFieldByName("mount_options"));
    }

    @Test
    void fieldOptions() {
        assertTrue(msg("LinuxSandboxSecurityContext").findFieldByName("seccomp_profile_path")
                .getOptions().getDeprecated());
        assertTrue(msg("LinuxContainerSecurityContext").findFieldByName("apparmor_profile")
                .getOptions().getDeprecated());
        assertTrue(msg("LinuxContainerSecurityContext").findFieldByName("seccomp_profile_path")
                .getOptions().getDeprecated());
        Descriptor auth = msg("AuthConfig");
        for (String redacted : List.of("password", "auth", "identity_token", "registry_token")) {
            assertTrue(auth.findFieldByName(redacted).getOptions().getDebugRedact(), redacted);
        }
        for (String plain : List.of("username", "server_address")) {
            assertFalse(auth.findFieldByName(plain).getOptions().getDebugRedact(), plain);
        }
    }

    // ---------------------------------------------------------------- enums

    @Test
    void everyEnumMatchesUpstream() {
        Map<String, List<String>> expected = parseBlock(ENUMS, "enum ");
        Map<String, List<String>> actual = new LinkedHashMap<>();
        for (EnumDescriptor e : FILE.getEnumTypes()) {
            actual.put(e.getName(), values(e));
        }
        for (Descriptor m : FILE.getMessageTypes()) {
            for (EnumDescriptor e : m.getEnumTypes()) {
                actual.put(m.getName() + "." + e.getName(), values(e));
            }
        }
        assertEquals(new TreeMap<>(expected), new TreeMap<>(actual));
    }

    @Test
    void sampleEnumValuesSpelledOut() {
        assertEnum("ContainerState", "CONTAINER_CREATED", 0, "CONTAINER_RUNNING", 1,
                "CONTAINER_EXITED", 2, "CONTAINER_UNKNOWN", 3);
        assertEnum("PodSandboxState", "SANDBOX_READY", 0, "SANDBOX_NOTREADY", 1);
        assertEnum("NamespaceMode", "POD", 0, "CONTAINER", 1, "NODE", 2, "TARGET", 3);
        assertEnum("Protocol", "TCP", 0, "UDP", 1, "SCTP", 2);
        assertEnum("MountPropagation", "PROPAGATION_PRIVATE", 0, "PROPAGATION_HOST_TO_CONTAINER", 1,
                "PROPAGATION_BIDIRECTIONAL", 2);
        assertEnum("ContainerEventType", "CONTAINER_CREATED_EVENT", 0, "CONTAINER_STARTED_EVENT", 1,
                "CONTAINER_STOPPED_EVENT", 2, "CONTAINER_DELETED_EVENT", 3);
        EnumDescriptor signal = FILE.findEnumTypeByName("Signal");
        assertEquals(66, signal.getValues().size());
        assertEquals(0, signal.findValueByName("RUNTIME_DEFAULT").getNumber());
        assertEquals(8, signal.findValueByName("SIGHUP").getNumber());
        assertEquals(10, signal.findValueByName("SIGINT").getNumber());
        assertEquals(13, signal.findValueByName("SIGKILL").getNumber());
        assertEquals(18, signal.findValueByName("SIGQUIT").getNumber());
        assertEquals(23, signal.findValueByName("SIGTERM").getNumber());
        assertEquals(29, signal.findValueByName("SIGUSR1").getNumber());
        assertEquals(35, signal.findValueByName("SIGRTMIN").getNumber());
        assertEquals(65, signal.findValueByName("SIGRTMAX").getNumber());
    }

    // ---------------------------------------------------------------- generated classes on the wire

    @Test
    void wireBytesOfGeneratedClasses() throws Exception {
        // Hand-encoded protobuf: tag = (field_number << 3) | wire_type.
        ExecSyncRequest exec = ExecSyncRequest.newBuilder()
                .setContainerId("c").addCmd("ls").setTimeout(5).build();
        assertEquals("0a0163" + "12026c73" + "1805", hex(exec.toByteArray()));
        assertEquals(exec, ExecSyncRequest.parseFrom(HexFormat.of().parseHex("0a0163" + "12026c73" + "1805")));

        // field 18, varint 23 (SIGTERM)
        ContainerConfig config = ContainerConfig.newBuilder().setStopSignal(Signal.SIGTERM).build();
        assertEquals("9001" + "17", hex(config.toByteArray()));

        // field 20, length-delimited
        ImageSpec spec = ImageSpec.newBuilder().setImageRef("x").build();
        assertEquals("a201" + "01" + "78", hex(spec.toByteArray()));

        // field 4, varint
        PodSandboxStatusResponse status = PodSandboxStatusResponse.newBuilder().setTimestamp(1).build();
        assertArrayEquals(new byte[] {0x20, 0x01}, status.toByteArray());
        assertEquals(ByteString.copyFrom(new byte[] {0x20, 0x01}), status.toByteString());
    }

    // ---------------------------------------------------------------- helpers

    private static List<String> rpcNames(ServiceDescriptor service) {
        assertNotNull(service);
        List<String> names = new ArrayList<>();
        for (MethodDescriptor m : service.getMethods()) {
            names.add(m.getName());
        }
        names.sort(null);
        return names;
    }

    private static List<String> signatures(ServiceDescriptor service) {
        List<String> out = new ArrayList<>();
        for (MethodDescriptor m : service.getMethods()) {
            assertEquals("runtime.v1." + m.getInputType().getName(), m.getInputType().getFullName());
            assertEquals("runtime.v1." + m.getOutputType().getName(), m.getOutputType().getFullName());
            out.add(m.getName() + "(" + (m.isClientStreaming() ? "stream " : "") + m.getInputType().getName()
                    + ") returns (" + (m.isServerStreaming() ? "stream " : "") + m.getOutputType().getName() + ")");
        }
        out.sort(null);
        return out;
    }

    private static List<String> serverStreaming(ServiceDescriptor service) {
        List<String> names = new ArrayList<>();
        for (MethodDescriptor m : service.getMethods()) {
            if (m.isServerStreaming()) {
                names.add(m.getName());
            }
        }
        names.sort(null);
        return names;
    }

    private static void assertGrpcMethods(io.grpc.ServiceDescriptor grpc, String serviceName, String expected) {
        Map<String, MethodType> expectedTypes = new TreeMap<>();
        for (String line : lines(expected)) {
            String name = line.substring(0, line.indexOf('('));
            expectedTypes.put(serviceName + "/" + name,
                    line.contains("returns (stream ") ? MethodType.SERVER_STREAMING : MethodType.UNARY);
        }
        Map<String, MethodType> actualTypes = new TreeMap<>();
        for (io.grpc.MethodDescriptor<?, ?> m : grpc.getMethods()) {
            actualTypes.put(m.getFullMethodName(), m.getType());
        }
        assertEquals(expectedTypes, actualTypes);
    }

    private static Descriptor msg(String name) {
        Descriptor d = FILE.findMessageTypeByName(name);
        assertNotNull(d, "message " + name);
        return d;
    }

    private static void assertField(String message, String field, int number) {
        FieldDescriptor f = msg(message).findFieldByName(field);
        assertNotNull(f, message + "." + field);
        assertEquals(number, f.getNumber(), message + "." + field);
    }

    private static void assertEnum(String name, Object... nameNumberPairs) {
        EnumDescriptor e = FILE.findEnumTypeByName(name);
        assertNotNull(e, "enum " + name);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < nameNumberPairs.length; i += 2) {
            expected.add(nameNumberPairs[i] + " = " + nameNumberPairs[i + 1]);
        }
        assertEquals(expected, values(e), "enum " + name);
    }

    private static List<String> values(EnumDescriptor e) {
        List<String> out = new ArrayList<>();
        for (EnumValueDescriptor v : e.getValues()) {
            out.add(v.getName() + " = " + v.getNumber());
        }
        return out;
    }

    private static String typeOf(FieldDescriptor f) {
        if (f.isMapField()) {
            Descriptor entry = f.getMessageType();
            return "map<" + typeOf(entry.findFieldByName("key")) + "," + typeOf(entry.findFieldByName("value")) + ">";
        }
        String base = switch (f.getJavaType()) {
            case MESSAGE -> f.getMessageType().getName();
            case ENUM -> f.getEnumType().getName();
            default -> f.getType().name().toLowerCase(Locale.ROOT);
        };
        return f.isRepeated() ? "repeated " + base : base;
    }

    /**
     * Parses unindented "header X" lines, each followed by its indented entries, into X -> entries,
     * in order. Indentation, not the word, tells them apart: some fields are named "message".
     */
    private static Map<String, List<String>> parseBlock(String block, String header) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        List<String> current = null;
        for (String raw : block.stripIndent().lines().toList()) {
            String line = raw.strip();
            if (line.isEmpty()) {
                continue;
            }
            if (!Character.isWhitespace(raw.charAt(0))) {
                assertTrue(line.startsWith(header), "expected a '" + header + "' header: " + line);
                current = new ArrayList<>();
                List<String> previous = out.put(line.substring(header.length()), current);
                assertEquals(null, previous, "duplicate " + line);
            } else {
                assertNotNull(current, "entry before any header: " + line);
                current.add(line);
            }
        }
        return out;
    }

    private static List<String> lines(String block) {
        return block.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
