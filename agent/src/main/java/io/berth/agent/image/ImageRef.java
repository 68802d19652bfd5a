package io.berth.agent.image;

import io.berth.agent.domain.BerthException;
import java.util.regex.Pattern;

/**
 * A normalised image reference, as kubelet and docker understand them (distribution/reference,
 * normalize.go): {@code busybox} is {@code docker.io/library/busybox:latest}; a first component
 * with a dot or a colon, or {@code localhost}, is a registry host (with its port); a reference may
 * carry a tag, a digest, or both (then the digest decides what is pulled).
 *
 * @param domain     registry host[:port]; {@code docker.io} for Docker Hub
 * @param repository path within the registry, e.g. {@code library/busybox}
 * @param tag        the tag, or null when only a digest is given
 * @param digest     the manifest digest, or null
 */
public record ImageRef(String domain, String repository, String tag, Digest digest) {
    public static final String DOCKER_HUB = "docker.io";
    private static final Pattern PATH_COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                    + "|\\[[0-9a-fA-F:.]+\\]");

    public static ImageRef parse(String ref) {
        if (ref == null || ref.isBlank()) {
            throw BerthException.invalid("image reference is empty");
        }
        String s = ref.trim();
        Digest digest = null;
        int at = s.indexOf('@');
        if (at >= 0) {
            try {
                digest = Digest.parse(s.substring(at + 1));
            } catch (BerthException e) {
                throw BerthException.invalid("image reference '" + ref + "': " + e.getMessage());
            }
            s = s.substring(0, at);
        }
        String tag = null;
        int lastSlash = s.lastIndexOf('/');
        int colon = s.lastIndexOf(':');
        if (colon > lastSlash) {
            tag = s.substring(colon + 1);
            s = s.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw BerthException.invalid("image reference '" + ref + "': '" + tag + "' is not a valid tag");
            }
        }
        String domain = DOCKER_HUB;
        String path = s;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            String first = s.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")
                    || !first.equals(first.toLowerCase(java.util.Locale.ROOT))) {
                domain = first;
                path = s.substring(slash + 1);
                validateDomain(domain, ref);
            }
        }
        if (domain.equals("index.docker.io")) {
            domain = DOCKER_HUB;
        }
        if (domain.equals(DOCKER_HUB) && !path.contains("/")) {
            path = "library/" + path;
        }
        if (path.isEmpty()) {
            throw BerthException.invalid("image reference '" + ref + "' has no repository");
        }
        for (String component : path.split("/", -1)) {
            if (!PATH_COMPONENT.matcher(component).matches()) {
                throw BerthException.invalid("image reference '" + ref + "': repository '" + path
                        + "' must be lowercase letters, digits and separators");
            }
        }
        if (path.length() + domain.length() + 1 > 255) {
            throw BerthException.invalid("image reference '" + ref + "' is longer than 255 characters");
        }
        if (tag == null && digest == null) {
            tag = "latest";
        }
        return new ImageRef(domain, path, tag, digest);
    }

    private static void validateDomain(String domain, String ref) {
        String host = domain;
        int colon = domain.lastIndexOf(':');
        if (colon > domain.lastIndexOf(']')) {
            String port = domain.substring(colon + 1);
            if (!PORT.matcher(port).matches()) {
                throw BerthException.invalid("image reference '" + ref + "': bad port in '" + domain + "'");
            }
            host = domain.substring(0, colon);
        }
        if (!DOMAIN.matcher(host).matches()) {
            throw BerthException.invalid("image reference '" + ref + "': '" + domain + "' is not a registry host");
        }
    }

    /** {@code domain/repository}, the name without tag or digest. */
    public String name() {
        return domain + "/" + repository;
    }

    /** {@code domain/repository:tag}, or null when there is no tag. */
    public String repoTag() {
        return tag == null ? null : name() + ":" + tag;
    }

    /** {@code domain/repository@digest} for the given manifest digest. */
    public String repoDigest(Digest manifest) {
        return name() + "@" + manifest;
    }

    /** What the registry's manifest endpoint takes: the digest if there is one, else the tag. */
    public String manifestReference() {
        return digest != null ? digest.toString() : tag;
    }

    @Override
    public String toString() {
        return name() + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }
}
