package io.berth.shim;

import io.berth.kernel.Credentials;
import io.berth.kernel.seccomp.OciSeccomp;
import io.berth.kernel.seccomp.RuntimeDefault;
import io.berth.kernel.seccomp.Seccomp;
import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.ProcessSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * The process's security context, prepared on a normal thread (files read, filter compiled) and
 * applied on the single-use spawner thread right before posix_spawn: everything here is per-thread
 * kernel state that the child inherits (capabilities(7), seccomp(2), PR_SET_NO_NEW_PRIVS).
 */
record Security(int uid, int gid, Set<Integer> groups, Set<Integer> caps, boolean noNewPrivs, byte[] seccompFilter) {

    static Security of(ContainerSpec spec) throws IOException {
        ProcessSpec p = spec.getProcess();
        Set<Integer> caps = new TreeSet<>();
        Set<String> capNames = new LinkedHashSet<>();
        if (spec.getPrivileged()) {
            caps.addAll(Credentials.all());
            for (int c : caps) if (c < Credentials.CAP_NAMES.size()) capNames.add(Credentials.CAP_NAMES.get(c));
        } else {
            for (String name : p.getCapabilitiesList()) {
                int c = Credentials.capNumber(name);
                caps.add(c);
                capNames.add(Credentials.CAP_NAMES.get(c));
            }
        }
        byte[] filter = switch (p.getSeccomp().getKind()) {
            case UNCONFINED -> null;
            case RUNTIME_DEFAULT, UNRECOGNIZED -> spec.getPrivileged() ? null
                    : p.getSeccomp().getFilter().isEmpty() ? RuntimeDefault.filter(capNames)
                    : p.getSeccomp().getFilter().toByteArray();
            case LOCALHOST -> p.getSeccomp().getFilter().isEmpty()
                    ? OciSeccomp.compile(Path.of(p.getSeccomp().getProfilePath()), capNames)
                    : p.getSeccomp().getFilter().toByteArray(); // compiled by the agent
        };
        var groups = new LinkedHashSet<Integer>();
        for (int g : p.getAdditionalGidsList()) groups.add(g);
        return new Security(p.getUid(), p.getGid(), groups, caps, p.getNoNewPrivileges(), filter);
    }

    /**
     * Applies the context to the calling thread, in the order runc uses: bounding set first (needs
     * CAP_SETPCAP, which the uid change may take away), then groups, gid, uid (keeping the
     * permitted set across it with PR_SET_KEEPCAPS so seccomp can still be installed without
     * no_new_privs), then no_new_privs and the filter last. After execve the child's capabilities
     * are recomputed from this bounding set: uid 0 gets exactly {@code caps}; other uids get none,
     * as with Docker and containerd (no ambient set).
     */
    void applyToThisThread() {
        Credentials.limitBoundingSet(caps);
        Credentials.clearAmbient();
        Credentials.keepCaps(true);
        Credentials.setgroups(groups);
        Credentials.setresgid(gid);
        Credentials.setresuid(uid);
        Set<Integer> permitted = Credentials.permitted();
        Credentials.capset(permitted, permitted, Set.of());
        if (noNewPrivs) {
            Credentials.noNewPrivs();
        }
        if (seccompFilter != null) {
            Seccomp.install(seccompFilter);
        }
    }
}
