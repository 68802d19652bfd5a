package io.berth.agent.cri;

import io.berth.agent.cri.image.ImageFsInfo;
import io.berth.agent.cri.image.ImageStatus;
import io.berth.agent.cri.image.ListImages;
import io.berth.agent.cri.image.PullImage;
import io.berth.agent.cri.image.RemoveImage;
import io.berth.agent.cri.image.StreamImages;
import io.berth.agent.image.ImagePuller;
import io.berth.cri.v1.FilesystemUsage;
import io.berth.cri.v1.ImageFsInfoRequest;
import io.berth.cri.v1.ImageFsInfoResponse;
import io.berth.cri.v1.ImageServiceGrpc;
import io.berth.cri.v1.ImageStatusRequest;
import io.berth.cri.v1.ImageStatusResponse;
import io.berth.cri.v1.ListImagesRequest;
import io.berth.cri.v1.ListImagesResponse;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.PullImageResponse;
import io.berth.cri.v1.RemoveImageRequest;
import io.berth.cri.v1.RemoveImageResponse;
import io.berth.cri.v1.StreamImagesRequest;
import io.berth.cri.v1.StreamImagesResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.function.Supplier;

/** The CRI ImageService: each RPC goes to its own handler class in {@code cri/image}. */
public final class CriImageService extends ImageServiceGrpc.ImageServiceImplBase {
    private final PullImage pull;
    private final ListImages list;
    private final StreamImages stream;
    private final ImageStatus status;
    private final RemoveImage remove;
    private final ImageFsInfo fsInfo;

    /**
     * @param containerFilesystems the container writable layers' usage, for ImageFsInfo (empty until
     *                             the container side supplies it)
     */
    public CriImageService(ImagePuller puller, Supplier<List<FilesystemUsage>> containerFilesystems) {
        var store = puller.store();
        this.pull = new PullImage(puller);
        this.list = new ListImages(store);
        this.stream = new StreamImages(store);
        this.status = new ImageStatus(store);
        this.remove = new RemoveImage(store);
        this.fsInfo = new ImageFsInfo(store, containerFilesystems);
    }

    @Override
    public void pullImage(PullImageRequest request, StreamObserver<PullImageResponse> response) {
        Unary.call(pull, request, response);
    }

    @Override
    public void listImages(ListImagesRequest request, StreamObserver<ListImagesResponse> response) {
        Unary.call(list, request, response);
    }

    @Override
    public void streamImages(StreamImagesRequest request, StreamObserver<StreamImagesResponse> response) {
        stream.handle(request, response);
    }

    @Override
    public void imageStatus(ImageStatusRequest request, StreamObserver<ImageStatusResponse> response) {
        Unary.call(status, request, response);
    }

    @Override
    public void removeImage(RemoveImageRequest request, StreamObserver<RemoveImageResponse> response) {
        Unary.call(remove, request, response);
    }

    @Override
    public void imageFsInfo(ImageFsInfoRequest request, StreamObserver<ImageFsInfoResponse> response) {
        Unary.call(fsInfo, request, response);
    }
}
