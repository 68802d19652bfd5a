package io.berth.agent.cri.image;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.agent.image.ImageStore;
import io.berth.cri.v1.RemoveImageRequest;
import io.berth.cri.v1.RemoveImageResponse;
import java.io.IOException;

/**
 * CRI RemoveImage, by id, tag or digest: the image goes with all its names; its layers stay while
 * another image or a container's lease uses them. Removing an absent image succeeds (CRI: "This
 * call is idempotent, and must not return an error if the image has already been removed").
 */
public final class RemoveImage implements Handler<RemoveImageRequest, RemoveImageResponse> {
    private final ImageStore store;

    public RemoveImage(ImageStore store) {
        this.store = store;
    }

    @Override
    public RemoveImageResponse handle(RemoveImageRequest request) {
        String ref = request.getImage().getImage();
        if (ref.isBlank()) {
            throw BerthException.invalid("RemoveImage: image is empty");
        }
        try {
            store.remove(ref);
        } catch (IOException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "RemoveImage " + ref + ": " + e.getMessage(), e);
        }
        return RemoveImageResponse.getDefaultInstance();
    }
}
