package io.berth.agent.image.registry;

/** Media types of OCI image-spec (media-types.md) and Docker Image Manifest V2 Schema 2. */
public final class MediaTypes {
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    public static final String DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";
    public static final String DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    private MediaTypes() {
    }

    public static boolean isIndex(String t) {
        return OCI_INDEX.equals(t) || DOCKER_LIST.equals(t);
    }

    public static boolean isManifest(String t) {
        return OCI_MANIFEST.equals(t) || DOCKER_MANIFEST.equals(t);
    }

    /**
     * Layer types we can unpack: OCI tar, tar+gzip, tar+zstd (and their non-distributable
     * variants), and Docker's rootfs diffs. The compression itself is recognised from the bytes.
     */
    public static boolean isLayer(String t) {
        return t.startsWith("application/vnd.oci.image.layer.")
                || t.equals("application/vnd.docker.image.rootfs.diff.tar.gzip")
                || t.equals("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
                || t.equals("application/vnd.docker.image.rootfs.diff.tar");
    }
}
