package io.berth.e2e.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.cri.v1.ImageSpec;
import io.berth.cri.v1.ImageStatusRequest;
import io.berth.e2e.AgentProcess;
import io.berth.kernel.testing.Tar;
import io.berth.e2e.fixtures.TestImages;
import io.berth.e2e.fixtures.TestImages.Built;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code berth images import FILE}: OCI layout and docker save archives into an agent's store, no registry. */
class ImportIT {
    @TempDir
    Path dir;

    record Result(int exit, String output) {
    }

    static Result berth(Path agentDir, String... args) throws Exception {
        Path lib = AgentProcess.home().resolve("agent/target/lib");
        String java = ProcessHandle.current().info().command().orElse("java");
        var cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", lib + "/*",
                "io.berth.agent.Main"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--state-dir", agentDir.resolve("state").toString(), "--config", "/dev/null"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(120, TimeUnit.SECONDS);
        return new Result(p.exitValue(), out);
    }

    static void tar(Path from, Path archive) throws Exception {
        Process p = new ProcessBuilder("tar", "-C", from.toString(), "-cf", archive.toString(), ".")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
    }

    @Test
    void importsAnOciLayoutArchiveAndADockerSaveTar() throws Exception {
        // An OCI layout, named as containerd's export names it.
        Built oci = TestImages.image().layer(TestImages.busyboxLayer()).label("from", "oci")
                .build(dir.resolve("oci"));
        String index = Files.readString(oci.layout().resolve("index.json"));
        Files.writeString(oci.layout().resolve("index.json"), index.replace("\"org.opencontainers.image.ref.name\":"
                + "\"latest\"", "\"io.containerd.image.name\":\"registry.example/tools/busybox:1\""));
        Path ociTar = dir.resolve("oci.tar");
        tar(oci.layout(), ociTar);

        // docker save: manifest.json, the config, one uncompressed tar per layer.
        byte[] layer = new Tar().file("hello", "from docker save\n").bytes();
        String diffId = TestImages.sha256(layer);
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"],\"User\":\"app\"},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + diffId + "\"]}}").getBytes(StandardCharsets.UTF_8);
        String configDigest = TestImages.sha256(config);
        Path save = Files.createDirectories(dir.resolve("save"));
        Files.write(save.resolve(configDigest.substring(7) + ".json"), config);
        Files.createDirectories(save.resolve("abc"));
        Files.write(save.resolve("abc/layer.tar"), layer);
        Files.writeString(save.resolve("manifest.json"), "[{\"Config\":\"" + configDigest.substring(7)
                + ".json\",\"RepoTags\":[\"saved:2\"],\"Layers\":[\"abc/layer.tar\"]}]");
        Path saveTar = dir.resolve("save.tar");
        tar(save, saveTar);

        Path agentDir = dir.resolve("agent");
        var r = berth(agentDir, "images", "import", ociTar.toString(), saveTar.toString());
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("imported " + oci.id() + " registry.example/tools/busybox:1"), r.output());
        assertTrue(r.output().contains("imported " + configDigest + " docker.io/library/saved:2"), r.output());

        try (var agent = AgentProcess.start(agentDir); var cri = agent.client()) {
            var st = cri.images().imageStatus(ImageStatusRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage("registry.example/tools/busybox:1")).build());
            assertEquals(oci.id(), st.getImage().getId());
            var saved = cri.images().imageStatus(ImageStatusRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage("saved:2")).build());
            assertEquals(configDigest, saved.getImage().getId());
            assertEquals("app", saved.getImage().getUsername());

            // While the agent owns the store, an import is refused, clearly.
            var busy = berth(agentDir, "images", "import", saveTar.toString());
            assertEquals(1, busy.exit(), busy.output());
            assertTrue(busy.output().contains("in use by another berth process"), busy.output());
        }
    }

    @Test
    void aHostileArchiveIsRefused() throws Exception {
        Built bad = TestImages.image().layer(new TestImages.Layer(new Tar().file("../../etc/cron.d/x", "x").bytes()))
                .build(dir.resolve("bad"));
        String index = Files.readString(bad.layout().resolve("index.json"));
        Files.writeString(bad.layout().resolve("index.json"), index.replace("\"org.opencontainers.image.ref.name\":"
                + "\"latest\"", "\"io.containerd.image.name\":\"registry.example/bad:1\""));
        Path archive = dir.resolve("bad.tar");
        tar(bad.layout(), archive);
        var r = berth(dir.resolve("agent"), "images", "import", archive.toString());
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("'../../etc/cron.d/x'"), r.output());
    }
}
