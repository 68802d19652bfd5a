package io.berth.agent.container;

/**
 * Told of every lifecycle change of a container, in the order they happen, while the change is
 * being made: implementations must return at once (queue, count, forget) and never call back into
 * the {@link ContainerManager}.
 */
@FunctionalInterface
public interface ContainerListener {
    enum Change { CREATED, STARTED, STOPPED, DELETED }

    /** @param container the record as of the change (for DELETED, its last record) */
    void changed(Change change, Container container);
}
