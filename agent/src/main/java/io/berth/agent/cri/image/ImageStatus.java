package io.berth.agent.cri.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.agent.image.Digest;
import io.berth.agent.image.Image;
import io.berth.agent.image.ImageStore;
import io.berth.cri.v1.ImageStatusRequest;
import io.berth.cri.v1.ImageStatusResponse;
import java.io.IOException;
import java.util.Optional;

/**
 * CRI ImageStatus: a missing image is not an error but an empty response (CRI: "If the image is
 * not present, returns a response with ImageStatusResponse.Image set to nil"). With {@code verbose},
 * info["info"] holds the image configuration and layer chain, as containerd reports it.
 */
public final class ImageStatus implements Handler<ImageStatusRequest, ImageStatusResponse> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ImageStore store;

    public ImageStatus(ImageStore store) {
        this.store = store;
    }

    @Override
    public ImageStatusResponse handle(ImageStatusRequest request) {
        String ref = request.getImage().getImage();
        if (ref.isBlank()) {
            throw BerthException.invalid("ImageStatus: image is empty");
        }
        Optional<Image> image = store.find(ref);
        if (image.isEmpty()) {
            return ImageStatusResponse.getDefaultInstance();
        }
        var b = ImageStatusResponse.newBuilder().setImage(CriImages.toCri(image.get()));
        if (request.getVerbose()) {
            b.putInfo("info", verboseInfo(image.get()));
        }
        return b.build();
    }

    private String verboseInfo(Image image) {
        try {
            ObjectNode info = JSON.createObjectNode();
            info.put("id", image.id());
            info.put("manifestDigest", image.manifestDigest());
            info.putPOJO("chainIDs", image.chainIds());
            info.putPOJO("layerDirs", image.layerDirs().stream().map(Object::toString).toList());
            info.set("imageSpec", JSON.readTree(store.readBlob(Digest.parse(image.id()))));
            return JSON.writeValueAsString(info);
        } catch (IOException e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "ImageStatus " + image.id()
                    + ": cannot read its config: " + e.getMessage(), e);
        }
    }
}
