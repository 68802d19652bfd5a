package io.berth.agent.cri.image;

import io.berth.agent.cri.ListStream;
import io.berth.agent.image.ImageStore;
import io.berth.cri.v1.StreamImagesRequest;
import io.berth.cri.v1.StreamImagesResponse;
import io.grpc.stub.StreamObserver;

/**
 * CRI StreamImages: ListImages in lists ({@link ListStream}), so that a node with very many images
 * never exceeds kubelet's 16 MiB message limit.
 */
public final class StreamImages {
    private final ImageStore store;

    public StreamImages(ImageStore store) {
        this.store = store;
    }

    public void handle(StreamImagesRequest request, StreamObserver<StreamImagesResponse> response) {
        var all = ListImages.images(store, request.hasFilter() ? request.getFilter().getImage().getImage() : "")
                .stream().map(CriImages::toCri).toList();
        ListStream.send(all, batch -> StreamImagesResponse.newBuilder().addAllImages(batch).build(), response);
    }
}
