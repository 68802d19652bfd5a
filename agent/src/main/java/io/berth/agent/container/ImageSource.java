package io.berth.agent.container;

import io.berth.agent.image.Image;
import java.util.Optional;

/** The images containers are made from, and the leases that keep their layers while in use. */
public interface ImageSource {
    Optional<Image> find(String refOrId);

    /** Keeps the image's layers on disk while {@code containerId} uses them. */
    void lease(String imageId, String containerId);

    /** Ends the container's lease. Idempotent. */
    void release(String containerId);
}
