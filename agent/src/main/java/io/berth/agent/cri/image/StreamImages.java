package io.berth.agent.cri.image;

import io.berth.agent.image.ImageStore;
import io.berth.cri.v1.StreamImagesRequest;
import io.berth.cri.v1.StreamImagesResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;

/**
 * CRI StreamImages: ListImages in batches, so that a node with very many images never exceeds
 * kubelet's 16 MiB message limit.
 */
public final class StreamImages {
    static final int BATCH = 500;

    private final ImageStore store;

    public StreamImages(ImageStore store) {
        this.store = store;
    }

    public void handle(StreamImagesRequest request, StreamObserver<StreamImagesResponse> response) {
        var all = ListImages.images(store, request.hasFilter() ? request.getFilter().getImage().getImage() : "")
                .stream().map(CriImages::toCri).toList();
        for (int i = 0; i < all.size(); i += BATCH) {
            List<io.berth.cri.v1.Image> batch = all.subList(i, Math.min(all.size(), i + BATCH));
            response.onNext(StreamImagesResponse.newBuilder().addAllImages(batch).build());
        }
        response.onCompleted();
    }
}
