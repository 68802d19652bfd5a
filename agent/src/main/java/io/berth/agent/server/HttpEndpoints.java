package io.berth.agent.server;

import io.berth.agent.config.AgentConfig;
import io.berth.agent.log.Log;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.io.StringWriter;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The agent's HTTP listener (Vert.x): {@code /healthz} for liveness probes and {@code /metrics} in
 * the Prometheus text format 0.0.4. Both answer from memory, so they never block the event loop.
 */
public final class HttpEndpoints implements AutoCloseable {
    private static final Log LOG = Log.get(HttpEndpoints.class);

    private final HttpServer server;

    private HttpEndpoints(HttpServer server) {
        this.server = server;
    }

    public static HttpEndpoints start(Vertx vertx, AgentConfig.Http config, CollectorRegistry registry,
            BooleanSupplier healthy) throws IOException {
        Router router = Router.router(vertx);
        router.get("/healthz").handler(ctx -> {
            boolean ok = healthy.getAsBoolean();
            ctx.response().setStatusCode(ok ? 200 : 503).putHeader("content-type", "text/plain")
                    .end(ok ? "ok\n" : "not serving\n");
        });
        router.get("/metrics").handler(ctx -> {
            var text = new StringWriter(16 * 1024);
            try {
                TextFormat.write004(text, registry.metricFamilySamples());
            } catch (IOException e) {
                ctx.fail(e);
                return;
            }
            ctx.response().putHeader("content-type", TextFormat.CONTENT_TYPE_004).end(text.toString());
        });
        try {
            HttpServer server = vertx.createHttpServer()
                    .requestHandler(router)
                    .listen(config.port(), config.address())
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            LOG.info("serving HTTP", "address", config.address(), "port", server.actualPort(),
                    "paths", "/healthz,/metrics");
            return new HttpEndpoints(server);
        } catch (ExecutionException e) {
            throw new IOException("listen on " + config.address() + ":" + config.port() + ": "
                    + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException | InterruptedException e) {
            throw new IOException("listen on " + config.address() + ":" + config.port() + ": " + e, e);
        }
    }

    public int port() {
        return server.actualPort();
    }

    @Override
    public void close() throws Exception {
        server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
