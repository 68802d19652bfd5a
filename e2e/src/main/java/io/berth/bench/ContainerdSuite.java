package io.berth.bench;

import io.berth.cri.v1.RemovePodSandboxRequest;
import io.berth.cri.v1.StopPodSandboxRequest;
import io.berth.e2e.CriClient;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestImages.Built;
import io.berth.e2e.fixtures.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The image and pod suites' workloads through containerd + runc (Debian's packages), on the same
 * machine in the same run: the reference the issues' targets are stated against ("half the time
 * containerd takes here"), measured beside berth's figures instead of quoted from another day.
 * The same CRI client, registry, images and requests as {@link ImageSuite} and {@link PodSuite}.
 * containerd's sandboxes need a pause image; the bench's is busybox {@code sleep}, as cheap a
 * process as the real one. Needs root; prints nothing when containerd is not installed.
 */
final class ContainerdSuite implements Suite {
    /** Before each row's name; most rows are the image and pod suites' own names after it. */
    static final String PREFIX = "containerd: ";
    static final String COLD_BIG = PREFIX + "image cold pull ~50 MB, 5 layers (gzip)";
    static final String WARM_BY_DIGEST = PREFIX + "image warm pull (present, by digest)";

    @Override
    public String name() {
        return "containerd";
    }

    @Override
    public void run(Path scratch, Figures figures) throws Exception {
        if (!Containerd.installed()) {
            System.err.println("bench: containerd, runc or the CNI plugins are not installed"
                    + " (apt-get install containerd containernetworking-plugins): no reference figures");
            return;
        }
        String tag = UUID.randomUUID().toString().substring(0, 6);
        try (var registry = TestRegistry.start(scratch.resolve("registry"))) {
            Built small = ImageSuite.smallImage(scratch.resolve("small"));
            String smallRef = registry.push(small.layout(), "bench/small:1");
            Built big = ImageSuite.bigImage(scratch.resolve("big"));
            String bigRef = registry.push(big.layout(), "bench/big:1");
            String busybox = registry.push(TestImages.busybox(scratch.resolve("busybox")), "busybox:bench");
            String pause = registry.push(TestImages.image().layer(TestImages.busyboxLayer())
                    .entrypoint("sleep", "2147483647").cmd().build(scratch.resolve("pause")).layout(), "bench/pause:1");
            try (var containerd = Containerd.start(scratch.resolve("containerd"), pause, registry.host(), "cb" + tag,
                    "10.219.0.0/24")) {
                CriClient cri = containerd.client();
                Bench.warmClient(cri);
                try {
                    images(containerd, scratch.resolve("containerd"), small, smallRef, figures);
                    bigPulls(containerd, bigRef, figures);
                    pods(containerd, busybox, pause, tag, figures);
                } catch (io.grpc.StatusRuntimeException e) {
                    throw new IllegalStateException("containerd failed; its log ends: " + containerd.log(), e);
                }
            } finally {
                Bench.removeCgroupParent("/berth-bench-" + tag);
            }
        }
    }

    private static void images(Containerd containerd, Path dir, Built small, String smallRef, Figures figures)
            throws Exception {
        CriClient cri = containerd.client();
        ImageSuite.pull(cri, smallRef); // a throw-away first pull, as the image suite makes
        ImageSuite.remove(cri, smallRef);
        Path layerBlob = dir.resolve("root/io.containerd.content.v1.content/blobs/sha256")
                .resolve(small.layerDigests().getFirst().substring(7));
        if (Files.exists(layerBlob)) {
            throw new IllegalStateException("containerd kept " + layerBlob + " after RemoveImage: its pulls would not be cold");
        }
        long cpu0 = Bench.cpuTicksWithChildren(containerd.pid());
        double[] cold = ImageSuite.coldPulls(cri, smallRef, ImageSuite.COLD_RUNS_SMALL);
        double cpuMs = (Bench.cpuTicksWithChildren(containerd.pid()) - cpu0) * 1000.0 / Bench.CLK_TCK / ImageSuite.COLD_RUNS_SMALL;
        figures.samples(PREFIX + ImageSuite.COLD_SMALL, "ms", cold,
                "the image suite's image; berth's target: half of this median");
        figures.value("  containerd's CPU per such pull", "ms", cpuMs, "user + system, its unpigz children too, with the RemoveImage before each");
        ImageSuite.pull(cri, smallRef);
        String byDigest = smallRef.substring(0, smallRef.lastIndexOf(':')) + "@" + small.topDigest();
        double[] warm = new double[ImageSuite.WARM_RUNS];
        for (int i = 0; i < warm.length; i++) {
            long t0 = System.nanoTime();
            ImageSuite.pull(cri, byDigest);
            warm[i] = (System.nanoTime() - t0) / 1e6;
        }
        figures.samples(WARM_BY_DIGEST, "ms", warm, "");
        ImageSuite.remove(cri, smallRef);
    }

    /** The image suite's ~50 MB five-layer image, cold: containerd fetches three layers at a time, as berth does. */
    private static void bigPulls(Containerd containerd, String bigRef, Figures figures) throws Exception {
        CriClient cri = containerd.client();
        ImageSuite.pull(cri, bigRef);
        long cpu0 = Bench.cpuTicksWithChildren(containerd.pid());
        double[] ms = ImageSuite.coldPulls(cri, bigRef, ImageSuite.COLD_RUNS_BIG);
        double cpuMs = (Bench.cpuTicksWithChildren(containerd.pid()) - cpu0) * 1000.0 / Bench.CLK_TCK / ImageSuite.COLD_RUNS_BIG;
        figures.samples(COLD_BIG, "ms", ms, "the image suite's image");
        figures.value("  containerd's CPU per such pull", "ms", cpuMs, "user + system, its unpigz children too, with the RemoveImage before each");
        ImageSuite.remove(cri, bigRef);
    }

    private static void pods(Containerd containerd, String image, String pause, String tag, Figures figures)
            throws Exception {
        CriClient cri = containerd.client();
        ImageSuite.pull(cri, image);
        ImageSuite.pull(cri, pause);
        var pods = new ArrayList<String>();
        var containers = new ArrayList<String>();
        try {
            var burst = new double[4][PodSuite.PODS];
            for (int i = 0; i < PodSuite.PODS; i++) {
                PodSuite.runPod(cri, image, tag, "ctrd-" + i, burst, i, pods, containers);
            }
            figures.samples(PREFIX + PodSuite.BURST, "ms", burst[0], "back to back");
            figures.samples("  of which RunPodSandbox", "ms", burst[1], "");
            figures.samples("  of which CreateContainer", "ms", burst[2], "");
            figures.samples("  of which StartContainer", "ms", burst[3], "");
            var paced = new double[4][PodSuite.PACED];
            for (int i = 0; i < PodSuite.PACED; i++) {
                Thread.sleep(PodSuite.PACE_MS);
                PodSuite.runPod(cri, image, tag, "ctrd-paced-" + i, paced, i, pods, containers);
            }
            figures.samples(PREFIX + PodSuite.PACED_ROW, "ms", paced[0],
                    "one pod per " + PodSuite.PACE_MS + " ms");
            Thread.sleep(3000);
            List<Long> shims = containerd.shimPids();
            double kib = 0;
            for (long pid : shims) {
                kib += AgentSuite.kib(pid, "Pss:", "smaps_rollup");
            }
            figures.value(PREFIX + "shim PSS each, " + shims.size() + " running", "MiB", kib / shims.size() / 1024,
                    "containerd-shim-runc-v2, one per pod (Go; KSM does not apply)");
            figures.samples(PREFIX + PodSuite.EXEC, "ms", PodSuite.execSyncs(cri, containers), "");
            figures.samples(PREFIX + PodSuite.STOP, "ms", PodSuite.stops(cri, containers), "");
        } finally {
            for (String pod : pods) {
                cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            }
        }
    }
}
