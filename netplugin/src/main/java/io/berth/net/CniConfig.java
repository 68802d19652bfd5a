package io.berth.net;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A CNI network configuration (CNI spec 1.0, "Section 1: Network configuration format"): a
 * {@code .conflist} (name, cniVersion, plugins[]) or a single-plugin {@code .conf}/{@code .json},
 * which is treated as a list of one, as libcni does.
 */
record CniConfig(Path file, String name, String cniVersion, boolean disableCheck, List<Map<String, Object>> plugins) {

    /** The lexically first .conf, .conflist or .json in {@code dir}, as kubelet/containerd/libcni pick it. */
    static Optional<Path> find(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        var found = new ArrayList<Path>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String n = f.getFileName().toString();
                if ((n.endsWith(".conf") || n.endsWith(".conflist") || n.endsWith(".json")) && Files.isRegularFile(f)) {
                    found.add(f);
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("read CNI config directory " + dir + ": " + e.getMessage(), e);
        }
        return found.stream().sorted().findFirst();
    }

    /** Parses and validates {@code file}; the message names the file and the problem. */
    static CniConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("read CNI config " + file + ": " + e.getMessage(), e);
        }
        try {
            return from(file, Json.parseObject(text), file.getFileName().toString().endsWith(".conflist"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("CNI config " + file + ": " + e.getMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    static CniConfig from(Path file, Map<String, Object> root, boolean isList) {
        String version = string(root, "cniVersion", true);
        if (!isList && !root.containsKey("plugins")) {
            String type = string(root, "type", true);
            if (type.isEmpty()) {
                throw new IllegalArgumentException("\"type\" is empty");
            }
            return new CniConfig(file, string(root, "name", true), version, false, List.of(root));
        }
        Object plugins = root.get("plugins");
        if (!(plugins instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("\"plugins\" must be a non-empty array");
        }
        var out = new ArrayList<Map<String, Object>>();
        for (int k = 0; k < list.size(); k++) {
            if (!(list.get(k) instanceof Map<?, ?> p)) {
                throw new IllegalArgumentException("plugins[" + k + "] is " + Json.kind(list.get(k)) + ", not an object");
            }
            var plugin = (Map<String, Object>) p;
            if (!(plugin.get("type") instanceof String t) || t.isEmpty() || t.contains("/")) {
                throw new IllegalArgumentException("plugins[" + k + "] lacks a plain \"type\"");
            }
            out.add(plugin);
        }
        boolean disableCheck = Boolean.TRUE.equals(root.get("disableCheck"));
        return new CniConfig(file, string(root, "name", true), version, disableCheck, List.copyOf(out));
    }

    private static String string(Map<String, Object> m, String key, boolean required) {
        Object v = m.get(key);
        if (v == null && required) {
            throw new IllegalArgumentException("missing \"" + key + "\"");
        }
        if (v != null && !(v instanceof String)) {
            throw new IllegalArgumentException("\"" + key + "\" is " + Json.kind(v) + ", not a string");
        }
        return (String) v;
    }

    /** Whether the config's version has CHECK and prevResult on DEL (both came with CNI 0.4.0). */
    boolean atLeast040() {
        String[] p = cniVersion.split("\\.");
        try {
            int major = Integer.parseInt(p[0]), minor = p.length > 1 ? Integer.parseInt(p[1]) : 0;
            return major > 0 || minor >= 4;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The config as a conflist object, for the result cache (DEL must use the config ADD used). */
    Map<String, Object> toMap() {
        var m = new LinkedHashMap<String, Object>();
        m.put("cniVersion", cniVersion);
        m.put("name", name);
        if (disableCheck) m.put("disableCheck", true);
        m.put("plugins", plugins);
        return m;
    }
}
