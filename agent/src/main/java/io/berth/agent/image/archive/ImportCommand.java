package io.berth.agent.image.archive;

import io.berth.agent.config.AgentConfig;
import io.berth.agent.domain.BerthException;
import io.berth.agent.image.Image;
import io.berth.agent.image.ImagePuller;
import io.berth.agent.image.ImageSystem;
import io.berth.agent.image.PullMetrics;
import io.berth.agent.image.registry.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code berth images import FILE...}: the command line face of {@link ImageImporter}. */
public final class ImportCommand {
    private ImportCommand() {
    }

    /** Returns the process exit code: 0 imported, 1 failed, 2 usage. */
    public static int run(AgentConfig config, List<String> words) {
        if (words.size() < 2 || !words.getFirst().equals("import")) {
            System.err.println("usage: berth images import FILE... [--state-dir DIR] [--config FILE]");
            return 2;
        }
        ImagePuller puller;
        try {
            puller = ImageSystem.open(config, PullMetrics.unregistered());
        } catch (IOException | BerthException e) {
            System.err.println("berth: " + e.getMessage());
            return 1;
        }
        try (var store = puller.store()) {
            var importer = new ImageImporter(puller, Platform.host());
            for (String file : words.subList(1, words.size())) {
                Path p = Path.of(file);
                if (!Files.isRegularFile(p)) {
                    System.err.println("berth: " + file + " is not a file");
                    return 1;
                }
                for (Image image : importer.importArchive(p)) {
                    System.out.println("imported " + image.id() + " " + String.join(" ", image.repoTags()));
                }
            }
            return 0;
        } catch (IOException | BerthException e) {
            System.err.println("berth: import failed: " + e.getMessage());
            return 1;
        }
    }
}
