package io.berth.net;

import java.util.Objects;

/** The pod a network attachment belongs to: the sandbox id and the Kubernetes identity (CRI PodSandboxMetadata). */
public record PodRef(String id, String name, String namespace, String uid) {
    public PodRef {
        Objects.requireNonNull(id, "pod id");
        if (id.isBlank() || id.contains("/") || id.contains("\n") || id.startsWith(".")) {
            throw new IllegalArgumentException("pod id must be a plain name, got '" + id + "'");
        }
        name = name == null ? "" : name;
        namespace = namespace == null ? "" : namespace;
        uid = uid == null ? "" : uid;
    }

    /** {@code namespace/name (id 1a2b3c4d5e6f)} for messages. */
    public String describe() {
        return namespace + "/" + name + " (id " + (id.length() > 12 ? id.substring(0, 12) : id) + ")";
    }
}
