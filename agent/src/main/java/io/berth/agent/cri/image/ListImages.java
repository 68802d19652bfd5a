package io.berth.agent.cri.image;

import io.berth.agent.cri.Handler;
import io.berth.agent.image.Image;
import io.berth.agent.image.ImageStore;
import io.berth.cri.v1.ListImagesRequest;
import io.berth.cri.v1.ListImagesResponse;
import java.util.List;

/**
 * CRI ListImages. The filter's image, when set, is resolved like ImageStatus resolves it (tag,
 * digest or id), as containerd does; the answer is that image or nothing.
 */
public final class ListImages implements Handler<ListImagesRequest, ListImagesResponse> {
    private final ImageStore store;

    public ListImages(ImageStore store) {
        this.store = store;
    }

    @Override
    public ListImagesResponse handle(ListImagesRequest request) {
        return ListImagesResponse.newBuilder()
                .addAllImages(images(store, request.hasFilter() ? request.getFilter().getImage().getImage() : "")
                        .stream().map(CriImages::toCri).toList())
                .build();
    }

    static List<Image> images(ImageStore store, String filter) {
        if (filter.isBlank()) {
            return store.list();
        }
        return store.find(filter).map(List::of).orElse(List.of());
    }
}
