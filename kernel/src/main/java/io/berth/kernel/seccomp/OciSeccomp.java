package io.berth.kernel.seccomp;

import io.berth.kernel.seccomp.SeccompProfile.Action;
import io.berth.kernel.seccomp.SeccompProfile.Arg;
import io.berth.kernel.seccomp.SeccompProfile.Op;
import io.berth.kernel.seccomp.SeccompProfile.Rule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a seccomp profile file in the OCI / Docker JSON format (what kubelet's Localhost profiles
 * are): {@code defaultAction}, {@code defaultErrnoRet}, {@code syscalls[]} with {@code names},
 * {@code action}, {@code errnoRet}, {@code args}, and Docker's {@code includes}/{@code excludes}
 * (caps, arches, minKernel), resolved here for x86_64 ("amd64") and the container's capabilities.
 */
public final class OciSeccomp {
    private OciSeccomp() {
    }

    /**
     * The compiled filter ({@link BpfCompiler}) of the profile file {@code profile} for a container
     * with capabilities {@code caps} on this kernel. A file that cannot be read, or does not parse,
     * is an IOException whose message names it.
     */
    public static byte[] compile(Path profile, Set<String> caps) throws IOException {
        String json;
        try {
            json = Files.readString(profile);
        } catch (IOException e) {
            throw new IOException("read seccomp profile " + profile + ": " + e.getMessage(), e);
        }
        try {
            return BpfCompiler.compile(parse(json, caps, System.getProperty("os.version")));
        } catch (RuntimeException e) {
            throw new IOException("seccomp profile " + profile + ": " + e.getMessage(), e);
        }
    }

    public static SeccompProfile parse(String json, Set<String> caps, String kernelRelease) {
        Map<String, Object> root = Json.obj(Json.parse(json));
        Object da = root.get("defaultAction");
        if (!(da instanceof String defaultAction)) {
            throw new IllegalArgumentException("seccomp profile has no defaultAction");
        }
        int defaultErrno = root.get("defaultErrnoRet") instanceof Long l ? l.intValue() : 1;
        var rules = new ArrayList<Rule>();
        for (Object o : Json.list(root.get("syscalls"))) {
            Map<String, Object> sc = Json.obj(o);
            if (!applies(Json.obj(sc.get("includes")), Json.obj(sc.get("excludes")), caps, kernelRelease)) {
                continue;
            }
            Action action = Action.parse((String) sc.get("action"));
            int errno = sc.get("errnoRet") instanceof Long l ? l.intValue() : 1;
            var args = new ArrayList<Arg>();
            for (Object a : Json.list(sc.get("args"))) {
                Map<String, Object> am = Json.obj(a);
                args.add(new Arg(((Long) am.get("index")).intValue(), num(am.get("value")), num(am.get("valueTwo")),
                        Op.parse((String) am.get("op"))));
            }
            var names = new ArrayList<String>();
            for (Object n : Json.list(sc.get("names"))) names.add((String) n);
            if (sc.get("name") instanceof String n) names.add(n);
            for (String n : names) {
                rules.add(new Rule(n, action, errno, List.copyOf(args)));
            }
        }
        return new SeccompProfile(Action.parse(defaultAction), defaultErrno, rules);
    }

    private static long num(Object o) {
        return o instanceof Long l ? l : 0;
    }

    private static boolean applies(Map<String, Object> inc, Map<String, Object> exc, Set<String> caps, String kernel) {
        for (Object c : Json.list(inc.get("caps"))) {
            if (!caps.contains((String) c)) return false;
        }
        List<Object> arches = Json.list(inc.get("arches"));
        if (!arches.isEmpty() && !arches.contains("amd64")) return false;
        if (inc.get("minKernel") instanceof String min && compareKernel(kernel, min) < 0) return false;
        for (Object c : Json.list(exc.get("caps"))) {
            if (caps.contains((String) c)) return false;
        }
        if (Json.list(exc.get("arches")).contains("amd64")) return false;
        return true;
    }

    /** Compares "6.18.44-foo" with "4.8" by major.minor. */
    static int compareKernel(String release, String min) {
        String[] a = release.split("[.-]");
        String[] b = min.split("[.-]");
        for (int k = 0; k < 2; k++) {
            int x = k < a.length ? Integer.parseInt(a[k].replaceAll("\\D.*", "")) : 0;
            int y = k < b.length ? Integer.parseInt(b[k].replaceAll("\\D.*", "")) : 0;
            if (x != y) return Integer.compare(x, y);
        }
        return 0;
    }
}
