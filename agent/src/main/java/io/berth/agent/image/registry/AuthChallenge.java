package io.berth.agent.image.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One challenge of a {@code WWW-Authenticate} header (RFC 7235 section 4.1): a scheme and its
 * parameters. Registries send {@code Basic realm="..."} or {@code Bearer realm="...",service="...",
 * scope="..."} (distribution-spec, and Docker's token authentication specification).
 */
public record AuthChallenge(String scheme, Map<String, String> params) {

    public String param(String name) {
        return params.getOrDefault(name, "");
    }

    /** Parses every challenge in the header values; schemes are lower-cased. */
    public static List<AuthChallenge> parse(List<String> headerValues) {
        var out = new ArrayList<AuthChallenge>();
        for (String header : headerValues) {
            parseOne(header, out);
        }
        return out;
    }

    private static void parseOne(String h, List<AuthChallenge> out) {
        int i = 0;
        int n = h.length();
        while (i < n) {
            while (i < n && (h.charAt(i) == ' ' || h.charAt(i) == ',')) {
                i++;
            }
            int start = i;
            while (i < n && h.charAt(i) != ' ' && h.charAt(i) != ',') {
                i++;
            }
            if (start == i) {
                break;
            }
            String scheme = h.substring(start, i).toLowerCase(Locale.ROOT);
            var params = new LinkedHashMap<String, String>();
            while (i < n) {
                while (i < n && (h.charAt(i) == ' ' || h.charAt(i) == ',')) {
                    i++;
                }
                int keyStart = i;
                while (i < n && h.charAt(i) != '=' && h.charAt(i) != ' ' && h.charAt(i) != ',') {
                    i++;
                }
                if (i >= n || h.charAt(i) != '=') {
                    i = keyStart; // not a parameter: the next challenge's scheme
                    break;
                }
                String key = h.substring(keyStart, i).toLowerCase(Locale.ROOT);
                i++;
                var value = new StringBuilder();
                if (i < n && h.charAt(i) == '"') {
                    i++;
                    while (i < n && h.charAt(i) != '"') {
                        if (h.charAt(i) == '\\' && i + 1 < n) {
                            i++;
                        }
                        value.append(h.charAt(i++));
                    }
                    i++;
                } else {
                    while (i < n && h.charAt(i) != ',') {
                        value.append(h.charAt(i++));
                    }
                }
                params.put(key, value.toString().trim());
            }
            out.add(new AuthChallenge(scheme, params));
        }
    }
}
