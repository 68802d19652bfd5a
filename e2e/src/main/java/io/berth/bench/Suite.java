package io.berth.bench;

import java.nio.file.Path;

/**
 * One group of benchmark rows. Each suite starts what it needs (agents, registries) under its own
 * scratch directory, drives the agent only through its socket as kubelet would, cleans up after
 * itself, and adds its figures.
 */
public interface Suite {
    /** Short name for {@code bin/bench NAME...}. */
    String name();

    void run(Path scratch, Figures figures) throws Exception;
}
