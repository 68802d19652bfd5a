package io.berth.agent.image;

import io.berth.agent.config.AgentConfig;
import io.berth.agent.image.unpack.Gunzip;
import io.berth.agent.log.Log;
import io.berth.agent.image.registry.DockerConfig;
import io.berth.agent.image.registry.Platform;
import io.berth.agent.image.registry.RegistryClient;
import io.berth.agent.image.registry.RegistryHosts;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;

/** Builds the image side of the agent from its configuration: store, registry client, puller. */
public final class ImageSystem {
    private static final Log LOG = Log.get(ImageSystem.class);

    private ImageSystem() {
    }

    /** The image store's directory under the state dir. */
    public static Path storeDir(AgentConfig config) {
        return config.stateDirPath().resolve("images");
    }

    public static ImagePuller open(AgentConfig config, PullMetrics metrics) throws IOException {
        AgentConfig.Images c = config.images();
        ImageStore store = ImageStore.open(storeDir(config));
        // Which gzip decoder layers get (ISA-L when libisal2 is installed), decided once here.
        LOG.info("gzip layer decoder", "decoder", Gunzip.system().description());
        var settings = new LinkedHashMap<String, RegistryHosts.Settings>();
        c.registries().forEach((host, r) -> settings.put(host,
                new RegistryHosts.Settings(r.mirrors(), r.insecure(), r.caFile())));
        var hosts = new RegistryHosts(settings,
                c.registryConfigDir().isEmpty() ? null : Path.of(c.registryConfigDir()));
        var docker = new DockerConfig(c.dockerConfig().isEmpty() ? null : Path.of(c.dockerConfig()));
        var client = new RegistryClient(hosts, docker, c.maxManifestBytes(),
                java.time.Duration.ofSeconds(c.downloadTimeoutSeconds()));
        return new ImagePuller(store, client, c.maxConcurrentDownloads(), metrics, Platform.host());
    }
}
