package io.berth.agent.cri.container;

import io.berth.agent.container.ContainerManager;
import io.berth.cri.v1.FilesystemIdentifier;
import io.berth.cri.v1.FilesystemUsage;
import io.berth.cri.v1.UInt64Value;
import java.util.List;
import java.util.function.Supplier;

/** ImageFsInfo's container_filesystems (KEP-4191): where the writable layers live and what they use. */
public final class ContainerFilesystems implements Supplier<List<FilesystemUsage>> {
    private final ContainerManager containers;

    public ContainerFilesystems(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public List<FilesystemUsage> get() {
        var usage = containers.writableLayerUsage();
        return List.of(FilesystemUsage.newBuilder()
                .setTimestamp(System.currentTimeMillis() * 1_000_000L)
                .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(usage.root().toString()))
                .setUsedBytes(UInt64Value.newBuilder().setValue(usage.bytes()))
                .setInodesUsed(UInt64Value.newBuilder().setValue(usage.inodes()))
                .build());
    }
}
