package io.berth.agent.pod;

/** The pod-level cgroup (kubelet's cgroup_parent), under which each container's cgroup is made. */
public interface PodCgroups {
    /** Creates the cgroup if it does not exist; returns whether this call created it. */
    boolean ensure(String parent);

    /** Removes the cgroup (it must be empty of processes by then). Idempotent. */
    void remove(String parent);

    /**
     * Writes the limits that are set into the existing cgroup. A missing cgroup is
     * FAILED_PRECONDITION; a value the kernel refuses is INVALID_ARGUMENT, naming the file.
     */
    void update(String parent, PodLimits limits);
}
