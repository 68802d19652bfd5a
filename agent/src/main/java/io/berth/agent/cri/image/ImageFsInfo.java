package io.berth.agent.cri.image;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.agent.image.ImageStore;
import io.berth.cri.v1.FilesystemIdentifier;
import io.berth.cri.v1.FilesystemUsage;
import io.berth.cri.v1.ImageFsInfoRequest;
import io.berth.cri.v1.ImageFsInfoResponse;
import io.berth.cri.v1.UInt64Value;
import java.io.IOException;
import java.util.List;
import java.util.function.Supplier;

/**
 * CRI ImageFsInfo: bytes and inodes the image store uses, on the file system of its directory.
 * Container writable layers come from {@code containerFilesystems}, which the container side
 * supplies; CRI's default for them is an empty list ("may be used ... if container and image
 * storage are separated").
 */
public final class ImageFsInfo implements Handler<ImageFsInfoRequest, ImageFsInfoResponse> {
    private final ImageStore store;
    private final Supplier<List<FilesystemUsage>> containerFilesystems;

    public ImageFsInfo(ImageStore store, Supplier<List<FilesystemUsage>> containerFilesystems) {
        this.store = store;
        this.containerFilesystems = containerFilesystems;
    }

    @Override
    public ImageFsInfoResponse handle(ImageFsInfoRequest request) {
        ImageStore.Usage usage;
        try {
            usage = store.usage();
        } catch (IOException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "ImageFsInfo: cannot measure " + store.root()
                    + ": " + e.getMessage(), e);
        }
        var fs = FilesystemUsage.newBuilder()
                .setTimestamp(System.currentTimeMillis() * 1_000_000L)
                .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(store.root().toString()))
                .setUsedBytes(UInt64Value.newBuilder().setValue(usage.bytes()))
                .setInodesUsed(UInt64Value.newBuilder().setValue(usage.inodes()))
                .build();
        return ImageFsInfoResponse.newBuilder()
                .addImageFilesystems(fs)
                .addAllContainerFilesystems(containerFilesystems.get())
                .build();
    }
}
