package io.berth.agent.cri.image;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.agent.image.Image;
import io.berth.agent.image.ImagePuller;
import io.berth.agent.image.registry.Credentials;
import io.berth.cri.v1.AuthConfig;
import io.berth.cri.v1.PullImageRequest;
import io.berth.cri.v1.PullImageResponse;

/**
 * CRI PullImage: pulls with the request's AuthConfig (else docker config.json credentials) and
 * returns the image id, which Image.id and ContainerStatus.image_ref repeat. The sandbox config is
 * not used: like containerd, berth pulls the same way for every pod (upstream uses it only to pick
 * a runtime handler's snapshotter, which berth does not have).
 */
public final class PullImage implements Handler<PullImageRequest, PullImageResponse> {
    private final ImagePuller puller;

    public PullImage(ImagePuller puller) {
        this.puller = puller;
    }

    @Override
    public PullImageResponse handle(PullImageRequest request) {
        String ref = request.getImage().getImage();
        if (ref.isBlank()) {
            throw BerthException.invalid("PullImage: image is empty");
        }
        AuthConfig a = request.getAuth();
        Credentials credentials = request.hasAuth()
                ? Credentials.of(a.getUsername(), a.getPassword(), a.getAuth(), a.getIdentityToken(),
                        a.getRegistryToken())
                : Credentials.ANONYMOUS;
        Image image = puller.pull(ref, credentials, request.hasAuth() ? a.getServerAddress() : "");
        return PullImageResponse.newBuilder().setImageRef(image.id()).build();
    }
}
