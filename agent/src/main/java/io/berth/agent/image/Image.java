package io.berth.agent.image;

import java.nio.file.Path;
import java.util.List;

/**
 * An image in the store, as the rest of the agent sees it.
 *
 * @param id             "sha256:" + the digest of the image configuration (what containerd and docker call
 *                       the image id; PullImage returns it, ContainerStatus.image_ref repeats it)
 * @param repoTags       normalised names with tags, e.g. {@code docker.io/library/busybox:1}
 * @param repoDigests    normalised names with the digest that was pulled (the index's, for multi-arch images)
 * @param size           bytes of the image's blobs as the registry serves them (config and compressed layers)
 * @param config         the container defaults from the image configuration
 * @param manifestDigest the platform manifest's digest
 * @param chainIds       the layers' chain ids, lowest first (OCI image-spec config.md, "Layer ChainID")
 * @param layerDirs      the unpacked layers, lowest first; overlayfs wants them reversed in lowerdir
 */
public record Image(String id, List<String> repoTags, List<String> repoDigests, long size, ImageConfig config,
        String manifestDigest, List<String> chainIds, List<Path> layerDirs) {
}
