package io.berth.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a container inherits from its image: the {@code config} object of the image configuration
 * (OCI image-spec config.md, "Properties"; Docker's image JSON uses the same names).
 *
 * @param user         "uid", "uid:gid", "name" or "name:group"; empty means root
 * @param exposedPorts "80/tcp" style keys
 * @param volumes      paths the image declares as volumes
 */
public record ImageConfig(List<String> entrypoint, List<String> cmd, List<String> env, String workingDir,
        String user, String stopSignal, Map<String, String> labels, Set<String> exposedPorts,
        Set<String> volumes, String os, String architecture) {

    public static ImageConfig fromJson(JsonNode root) {
        JsonNode c = root.path("config");
        return new ImageConfig(strings(c.path("Entrypoint")), strings(c.path("Cmd")), strings(c.path("Env")),
                c.path("WorkingDir").asText(""), c.path("User").asText(""), c.path("StopSignal").asText(""),
                map(c.path("Labels")), keys(c.path("ExposedPorts")), keys(c.path("Volumes")),
                root.path("os").asText(""), root.path("architecture").asText(""));
    }

    /** The numeric uid of {@link #user()}, when it names one ("1000" or "1000:1000"); else null. */
    public Long uid() {
        String u = userPart();
        return !u.isEmpty() && u.chars().allMatch(Character::isDigit) ? Long.parseLong(u) : null;
    }

    /** The user name of {@link #user()}, when it is not numeric; else "". */
    public String username() {
        String u = userPart();
        return uid() == null ? u : "";
    }

    private String userPart() {
        int colon = user.indexOf(':');
        return colon < 0 ? user : user.substring(0, colon);
    }

    private static List<String> strings(JsonNode n) {
        var out = new ArrayList<String>();
        if (n.isArray()) {
            n.forEach(v -> out.add(v.asText()));
        }
        return List.copyOf(out);
    }

    private static Map<String, String> map(JsonNode n) {
        var out = new LinkedHashMap<String, String>();
        if (n.isObject()) {
            n.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        }
        return out;
    }

    private static Set<String> keys(JsonNode n) {
        var out = new LinkedHashSet<String>();
        if (n.isObject()) {
            n.fieldNames().forEachRemaining(out::add);
        }
        return out;
    }
}
