package io.berth.agent.cri.image;

import io.berth.agent.image.Image;
import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.Int64Value;

/** Image domain record → CRI Image message. */
final class CriImages {
    private CriImages() {
    }

    static io.berth.cri.v1.Image toCri(Image image) {
        var b = io.berth.cri.v1.Image.newBuilder()
                .setId(image.id())
                .addAllRepoTags(image.repoTags())
                .addAllRepoDigests(image.repoDigests())
                .setSize(image.size())
                .setSpec(ImageSpec.newBuilder().setImage(image.id()));
        // CRI: "UID and the following user name are mutually exclusive"; neither when the image
        // names no user (the container then runs as root).
        Long uid = image.config().uid();
        if (uid != null) {
            b.setUid(Int64Value.newBuilder().setValue(uid));
        } else {
            b.setUsername(image.config().username());
        }
        return b.build();
    }
}
