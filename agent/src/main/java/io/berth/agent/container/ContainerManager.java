package io.berth.agent.container;

import io.berth.agent.domain.BerthException;
import io.berth.agent.image.Image;
import io.berth.agent.log.Log;
import io.berth.agent.pod.PodContainers;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.store.RecordStore;
import io.berth.agent.util.IdIndex;
import io.berth.agent.util.FileTrees;
import io.berth.agent.util.Ids;
import io.berth.agent.util.KeyedLocks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Containers: create, start, stop, remove, observe, exec. Each operation on one container holds its
 * lock; each change of state is persisted before it is answered; removal and stop are idempotent.
 */
public final class ContainerManager implements PodContainers {
    private static final Log LOG = Log.get(ContainerManager.class);

    /** SIGTERM and SIGKILL (signal(7)). */
    static final int SIGTERM = 15;
    static final int SIGKILL = 9;

    private final RecordStore<Container> store;
    private final IdIndex<Container> containers = new IdIndex<>("container");
    private final Map<String, String> reservations = new ConcurrentHashMap<>();
    private final KeyedLocks locks = new KeyedLocks();
    private final Path stateDir;
    private final Path runDir;
    private final PodManager pods;
    private final ImageSource images;
    private final ContainerRuntime runtime;
    private final List<ContainerListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Serialises state changes of records, so each one is applied and announced exactly once, in order. */
    private final Object transitions = new Object();

    public ContainerManager(Path stateDir, Path runDir, PodManager pods, ImageSource images, ContainerRuntime runtime) {
        this.store = new RecordStore<>(stateDir.resolve("containers"), Container.class);
        this.stateDir = stateDir;
        this.runDir = runDir;
        this.pods = pods;
        this.images = images;
        this.runtime = runtime;
        pods.attach(this);
    }

    /** Registers a listener for lifecycle changes (events, stats, metrics). */
    public void listen(ContainerListener listener) {
        listeners.add(listener);
    }

    private void announce(ContainerListener.Change change, Container c) {
        for (ContainerListener l : listeners) {
            try {
                l.changed(change, c);
            } catch (RuntimeException e) {
                LOG.warn("container listener failed", "change", change, "id", c.id(), "error", e.toString());
            }
        }
    }

    /**
     * Stores {@code next} unless another thread already moved the record to that state; true when
     * this call made the change (and announced it).
     */
    private boolean transition(Container next, ContainerListener.Change change) {
        synchronized (transitions) {
            Container now = containers.find(next.id()).orElse(null);
            if (now == null || now.state() == next.state() || !now.state().canBecome(next.state())) {
                return false;
            }
            // Started and exited are the shim's facts (its live state, its durable exit.pb): after a
            // crash recover() learns them again, so the answer need not wait for the record's file.
            store.updateBehind(next.id(), next);
            containers.put(next.id(), next);
            announce(change, next);
            return true;
        }
    }

    /** Waits until the started and exited changes written behind are on disk (a stopping agent). */
    public void awaitRecordWrites() {
        store.awaitWritesBehind();
    }

    /** Reloads the records after a restart and learns what happened to each container meanwhile. */
    public void recover() {
        for (Container c : store.loadAll()) {
            containers.put(c.id(), c);
            reservations.put(c.reservationKey(), c.id());
        }
        containers.all().forEach(c -> refresh(c.id()));
        LOG.info("containers recovered", "count", containers.all().size());
    }

    public Container create(String sandboxId, ContainerRequest request) {
        Sandbox sandbox = pods.get(sandboxId);
        if (sandbox.state() != Sandbox.State.READY) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "pod sandbox " + sandbox.id()
                    + " is " + sandbox.state() + "; containers can be created only in a READY sandbox");
        }
        if (request.name().isEmpty()) {
            throw BerthException.invalid("ContainerConfig.metadata.name is required");
        }
        Image image = images.find(request.image()).orElseThrow(() -> BerthException.notFound(
                "image " + request.image() + " is not present; pull it first"));
        ContainerPlan.NamespaceJoin targetPid = request.security().pidMode().equals("TARGET")
                ? targetPidNamespace(sandbox, request) : null;
        String id = Ids.random();
        String key = sandbox.id() + "/" + request.name() + "/" + request.attempt();
        if (reservations.putIfAbsent(key, id) != null) {
            throw new BerthException(BerthException.Kind.ALREADY_EXISTS, "container name " + request.name()
                    + " (attempt " + request.attempt() + ") in pod " + sandbox.id() + " is reserved by container "
                    + reservations.get(key));
        }
        try (var held = locks.lock(id)) {
            // Short on purpose: the shim's socket lives in the bundle, and a unix socket path must fit in
            // 108 bytes (unix(7) sun_path). 16 hex digits of a random id are unique in practice; checked.
            Path bundle = runDir.resolve("c").resolve(id.substring(0, 16));
            if (Files.exists(bundle)) {
                throw new BerthException(BerthException.Kind.INTERNAL, "bundle dir " + bundle + " of new container "
                        + id + " already exists");
            }
            Path writable = stateDir.resolve("containers").resolve(id);
            Path logPath = request.logPath().isEmpty() || sandbox.logDirectory().isEmpty() ? null
                    : Path.of(sandbox.logDirectory()).resolve(request.logPath());
            ContainerPlan plan = PlanBuilder.build(id, bundle, writable, request, image, sandbox, logPath, targetPid);
            String stopSignal = !request.stopSignal().isEmpty() ? request.stopSignal() : image.config().stopSignal();
            var container = new Container(id, sandbox.id(), request.name(), request.attempt(), request.image(),
                    image.id(), request.labels(), request.annotations(), Container.State.CREATED,
                    System.currentTimeMillis() * 1_000_000L, 0, 0, 0, "", "", plan.logPath(), plan.mounts(),
                    stopSignal, request.resources(), bundle.toString(), plan.uid() + ":" + plan.gid());
            // The durable writes, the image lease and the record, wait for the disk (an fsync each,
            // up to tens of ms on a busy node); they run while the shim builds the container, and a
            // create that fails undoes them. A crash in between leaves a record whose shim the
            // restarted agent finds (CREATED) or does not (reported exited): never a lost container.
            var durable = new FutureTask<Void>(() -> {
                images.lease(image.id(), id);
                store.put(id, container);
                return null;
            });
            Thread.ofVirtual().name("container-record-" + id.substring(0, 12)).start(durable);
            try {
                Files.createDirectories(writable.resolve("upper"));
                Files.createDirectories(writable.resolve("work"));
                if (logPath != null) {
                    Files.createDirectories(logPath.getParent());
                }
                runtime.create(plan);
                awaitWrites(durable, id);
            } catch (Exception e) {
                runtime.delete(bundle.toString());
                FileTrees.delete(writable);
                try {
                    awaitWrites(durable, id);
                } catch (RuntimeException ignored) {
                    // undone below either way
                }
                store.delete(id);
                images.release(id);
                throw e instanceof BerthException b ? b : new BerthException(BerthException.Kind.INTERNAL,
                        "create container " + request.name() + " (" + id + "): " + e.getMessage(), e);
            }
            synchronized (transitions) {
                containers.put(id, container);
                announce(ContainerListener.Change.CREATED, container);
            }
            LOG.info("container created", "id", id, "name", request.name(), "sandbox", sandbox.id(), "image", image.id());
            return container;
        } catch (RuntimeException e) {
            reservations.remove(key, id);
            throw e;
        }
    }

    /**
     * CRI PID mode TARGET (kubectl debug --target=NAME, ephemeral containers): the PID namespace of
     * another container of the same pod, which must be running (containerd's validateTargetContainer:
     * a missing target is NOT_FOUND; here one that does not run is FAILED_PRECONDITION).
     */
    private ContainerPlan.NamespaceJoin targetPidNamespace(Sandbox sandbox, ContainerRequest request) {
        String targetId = request.security().targetId();
        String who = "container " + request.name() + " (PID namespace mode TARGET)";
        if (targetId.isEmpty()) {
            throw BerthException.invalid(who + ": NamespaceOption.target_id names no container");
        }
        Container target = containers.find(targetId).map(c -> refresh(c.id())).orElseThrow(() ->
                BerthException.notFound(who + ": target container " + targetId + " not found"));
        if (!target.sandboxId().equals(sandbox.id())) {
            throw BerthException.invalid(who + ": target container " + target.id() + " belongs to pod "
                    + target.sandboxId() + ", not to pod " + sandbox.id());
        }
        var notRunning = (java.util.function.Supplier<BerthException>) () -> new BerthException(
                BerthException.Kind.FAILED_PRECONDITION, who + ": target container " + target.id() + " ("
                        + target.name() + ") is " + refresh(target.id()).state() + ", not RUNNING");
        if (target.state() != Container.State.RUNNING) {
            throw notRunning.get();
        }
        return runtime.pidNamespace(target.bundleDir()).orElseThrow(notRunning);
    }

    /** Waits for a create's durable writes; their failure is the create's. */
    private static void awaitWrites(FutureTask<Void> writes, String id) {
        try {
            writes.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof RuntimeException r ? r : new BerthException(BerthException.Kind.INTERNAL,
                    "persist container " + id + ": " + c.getMessage(), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BerthException(BerthException.Kind.INTERNAL, "interrupted persisting container " + id, e);
        }
    }

    public Container start(String idOrPrefix) {
        // The record, not the shim's word (get): Start is itself the exchange with the shim, and a
        // shim that is gone fails it, after which the record learns how the container ended.
        Container c = record(idOrPrefix);
        try (var held = locks.lock(c.id())) {
            c = containers.find(c.id()).orElseThrow();
            if (c.state() != Container.State.CREATED) {
                throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "container " + c.id() + " is "
                        + c.state() + "; only a CREATED container can be started");
            }
            // One exchange with the shim: its answer to Start is the state after it. A held process
            // that is gone meanwhile makes Start fail; the record then learns how it ended.
            ContainerRuntime.Observed observed;
            try {
                observed = runtime.start(c.bundleDir());
            } catch (BerthException e) {
                refresh(c.id());
                throw e;
            }
            c = c.running(observed.startedAt() > 0 ? observed.startedAt() : System.currentTimeMillis() * 1_000_000L);
            transition(c, ContainerListener.Change.STARTED);
            LOG.info("container started", "id", c.id(), "pid", observed.pid());
            return observed.phase() == ContainerRuntime.Observed.Phase.RUNNING ? c : refresh(c.id());
        }
    }

    /** Stops with the stop signal, then SIGKILL after {@code timeoutSeconds}. Missing or exited: fine. */
    public void stop(String idOrPrefix, long timeoutSeconds) {
        Optional<Container> found = containers.find(idOrPrefix);
        if (found.isEmpty()) {
            return;
        }
        try (var held = locks.lock(found.get().id())) {
            // The record as it stands, without asking the shim first: signalling a container that
            // has exited meanwhile is harmless, and the refresh below learns how it ended.
            Container c = containers.find(found.get().id()).orElse(null);
            if (c == null || c.state() == Container.State.EXITED) {
                return;
            }
            if (c.state() == Container.State.RUNNING) {
                int signal = Signals.number(c.stopSignal(), SIGTERM);
                boolean exited = false;
                if (timeoutSeconds > 0) {
                    // One exchange with the shim; then (a runtime that cannot wait) poll for what is left.
                    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
                    exited = runtime.killAndAwaitExit(c.bundleDir(), signal, Duration.ofSeconds(timeoutSeconds))
                            || awaitExit(c, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                } else {
                    runtime.kill(c.bundleDir(), signal, false);
                }
                if (!exited) {
                    runtime.kill(c.bundleDir(), SIGKILL, true);
                    awaitExit(c, Duration.ofSeconds(10));
                }
            } else {
                // CREATED: the process is held before exec; end it without ever running it.
                runtime.kill(c.bundleDir(), SIGKILL, true);
                awaitExit(c, Duration.ofSeconds(10));
            }
            c = refresh(c.id());
            if (c.state() != Container.State.EXITED) {
                throw new BerthException(BerthException.Kind.DEADLINE_EXCEEDED, "container " + c.id()
                        + " did not exit after SIGKILL");
            }
            LOG.info("container stopped", "id", c.id(), "exit_code", c.exitCode(), "reason", c.reason());
        }
    }

    /** Removes the container (killing it if it still runs) and everything of it. Missing: fine. */
    public void remove(String idOrPrefix) {
        Optional<Container> found = containers.find(idOrPrefix);
        if (found.isEmpty()) {
            return;
        }
        String id = found.get().id();
        stop(id, 0);
        try (var held = locks.lock(id)) {
            Container c = containers.find(id).orElse(null);
            if (c == null) {
                return;
            }
            runtime.delete(c.bundleDir());
            FileTrees.delete(stateDir.resolve("containers").resolve(id));
            images.release(id);
            synchronized (transitions) {
                store.delete(id);
                containers.remove(id);
                announce(ContainerListener.Change.DELETED, c);
            }
            reservations.remove(c.reservationKey(), id);
            LOG.info("container removed", "id", id);
        }
        locks.forget(id);
    }

    public Container get(String idOrPrefix) {
        return refresh(record(idOrPrefix).id());
    }

    /**
     * The record as last known, without asking its shim (see {@link #records}): for checks on a
     * path that reaches the shim right after anyway, which then answers for the container's state.
     */
    public Container record(String idOrPrefix) {
        return containers.find(idOrPrefix)
                .orElseThrow(() -> BerthException.notFound("container " + idOrPrefix + " not found"));
    }

    public Optional<Container> find(String idOrPrefix) {
        return containers.find(idOrPrefix).map(c -> refresh(c.id()));
    }

    public List<Container> list() {
        return containers.all().stream()
                .map(c -> refresh(c.id()))
                .sorted(Comparator.comparingLong(Container::createdAt))
                .toList();
    }

    /**
     * The records as last known, without asking any shim: for readers that must stay cheap at 100+
     * containers (stats, events). Shims push exits as they happen, so the states are current.
     */
    public List<Container> records() {
        return List.copyOf(containers.all());
    }

    /**
     * Runs a command in the container and waits for it (kubelet's exec probes: frequent, so one
     * exchange with the shim). The record says whether it runs; one that has exited since fails
     * the exchange, and the refreshed record then gives the answer.
     */
    public ContainerRuntime.ExecResult execSync(String idOrPrefix, List<String> args, Duration timeout) {
        Container c = record(idOrPrefix);
        if (c.state() == Container.State.RUNNING) {
            if (args.isEmpty()) {
                throw BerthException.invalid("exec in container " + c.id() + ": no command given");
            }
            try {
                return runtime.exec(c.bundleDir(), args, timeout);
            } catch (BerthException e) {
                c = refresh(c.id());
                if (c.state() == Container.State.RUNNING) {
                    throw e;
                }
            }
        }
        throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "container " + c.id() + " is "
                + c.state() + "; exec needs a RUNNING container");
    }

    public Container updateResources(String idOrPrefix, ContainerPlan.Resources resources) {
        Container c = get(idOrPrefix);
        try (var held = locks.lock(c.id())) {
            if (c.state() == Container.State.RUNNING || c.state() == Container.State.CREATED) {
                runtime.updateResources(c.bundleDir(), resources);
            }
            c = c.withResources(resources);
            store.put(c.id(), c);
            containers.put(c.id(), c);
            return c;
        }
    }

    public void reopenLog(String idOrPrefix) {
        Container c = get(idOrPrefix);
        if (c.state() != Container.State.RUNNING) {
            throw new BerthException(BerthException.Kind.FAILED_PRECONDITION, "container " + c.id() + " is "
                    + c.state() + "; only a running container's log can be reopened");
        }
        runtime.reopenLog(c.bundleDir());
    }

    /** Bytes and inodes of the containers' writable layers, and the directory that holds them. */
    public record Usage(Path root, long bytes, long inodes) {
    }

    public Usage writableLayerUsage() {
        Path root = stateDir.resolve("containers");
        long[] totals = new long[2];
        try (var paths = Files.walk(root)) {
            paths.forEach(p -> {
                try {
                    var attrs = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    totals[0] += attrs.isRegularFile() ? attrs.size() : 0;
                    totals[1]++;
                } catch (java.io.IOException e) {
                    // removed while we walked: not counted
                }
            });
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            // the directory does not exist yet: nothing used
        }
        return new Usage(root, totals[0], totals[1]);
    }

    @Override
    public void stopAll(String sandboxId, long timeoutSeconds) {
        for (Container c : containers.all()) {
            if (c.sandboxId().equals(sandboxId)) {
                stop(c.id(), timeoutSeconds);
            }
        }
    }

    @Override
    public void removeAll(String sandboxId) {
        for (Container c : containers.all()) {
            if (c.sandboxId().equals(sandboxId)) {
                remove(c.id());
            }
        }
    }

    /**
     * Brings the record up to date with what the shim (or its exit record) says. A shim that has
     * vanished without an exit record was killed: the container is reported exited, reason ShimLost.
     */
    private Container refresh(String id) {
        Container c = containers.find(id).orElseThrow();
        if (c.state() == Container.State.EXITED) {
            return c;
        }
        var o = runtime.observe(c.bundleDir());
        Container next = switch (o.phase()) {
            case CREATED -> c;
            case RUNNING -> c.state() == Container.State.RUNNING ? c : c.running(o.startedAt());
            case EXITED -> c.exited(o.startedAt() > 0 ? o.startedAt() : c.startedAt(), o.finishedAt(),
                    o.exitCode(), o.reason(), o.message());
            case LOST -> c.exited(c.startedAt(), System.currentTimeMillis() * 1_000_000L, 255, "ShimLost",
                    "the berth shim of this container died (killed?); its exit status is unknown");
        };
        if (next != c) {
            var change = next.state() == Container.State.EXITED ? ContainerListener.Change.STOPPED
                    : ContainerListener.Change.STARTED;
            if (!transition(next, change)) {
                return containers.find(id).orElse(next); // another thread made this change first
            }
            if (next.state() == Container.State.EXITED) {
                LOG.info("container exited", "id", id, "exit_code", next.exitCode(), "reason", next.reason());
            }
        }
        return next;
    }

    private boolean awaitExit(Container c, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        // The shim answers the moment the exit is recorded; polling is the fallback.
        if (runtime.awaitExit(c.bundleDir(), timeout)) {
            return true;
        }
        long pause = 1;
        while (System.nanoTime() < deadline) {
            var phase = runtime.observe(c.bundleDir()).phase();
            if (phase == ContainerRuntime.Observed.Phase.EXITED || phase == ContainerRuntime.Observed.Phase.LOST) {
                return true;
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            pause = Math.min(pause * 2, 50);
        }
        return false;
    }
}
