package io.berth.agent.host;

import io.berth.agent.container.ImageSource;
import io.berth.agent.image.Image;
import io.berth.agent.image.ImageStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

/** The containers' {@link ImageSource}: the agent's image store, whose leases keep layers in use. */
public final class StoreImageSource implements ImageSource {
    private final ImageStore store;

    public StoreImageSource(ImageStore store) {
        this.store = store;
    }

    @Override
    public Optional<Image> find(String refOrId) {
        return store.find(refOrId);
    }

    @Override
    public void lease(String imageId, String containerId) {
        try {
            store.lease(imageId, containerId);
        } catch (IOException e) {
            throw new UncheckedIOException("lease image " + imageId + " for container " + containerId, e);
        }
    }

    @Override
    public void release(String containerId) {
        try {
            store.release(containerId);
        } catch (IOException e) {
            throw new UncheckedIOException("release the image lease of container " + containerId, e);
        }
    }
}
