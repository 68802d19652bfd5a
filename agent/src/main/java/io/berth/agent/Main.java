package io.berth.agent;

import io.berth.agent.config.AgentConfig;
import io.berth.agent.config.ConfigException;
import io.berth.agent.config.ConfigLoader;
import io.berth.agent.domain.RuntimeInfo;
import io.berth.agent.log.Log;
import io.berth.agent.log.Logging;
import io.berth.agent.server.AgentAlreadyRunningException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;

/** {@code berth COMMAND [flags]}: the entry point that bin/berth runs. */
public final class Main {
    static final String USAGE = """
            usage: berth COMMAND [flags]

            commands:
              agent     run the node agent (CRI on a unix socket, /healthz and /metrics over HTTP)
              version   print berth's version
              config    print the effective configuration (defaults < config file < flags) as TOML
              images import FILE   load an OCI layout or docker save archive into the image store (agent stopped)

            flags:
              --config FILE          config file (default /etc/berth/config.toml, if it exists)
              --socket PATH          CRI socket (default /run/berth/berth.sock)
              --state-dir DIR        durable state (default /var/lib/berth)
              --run-dir DIR          runtime files (default /run/berth)
              --log-level LEVEL      trace, debug, info, warn, error (default info)
              --cgroup-driver NAME   auto, cgroupfs, systemd (default auto)
              --http-address ADDR    /healthz and /metrics listener (default 127.0.0.1)
              --http-port PORT       its port; 0 picks a free one (default 9478)
            """;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(Arrays.asList(args)));
    }

    static int run(List<String> args) {
        if (args.isEmpty() || List.of("help", "-h", "--help").contains(args.getFirst())) {
            System.out.print(USAGE);
            return args.isEmpty() ? 2 : 0;
        }
        String command = args.getFirst();
        AgentConfig config;
        List<String> words;
        try {
            var cli = ConfigLoader.parse(args.subList(1, args.size()));
            words = cli.arguments();
            if (!cli.arguments().isEmpty() && !command.equals("images")) {
                throw new ConfigException("unexpected argument '" + cli.arguments().getFirst() + "'");
            }
            config = ConfigLoader.load(cli);
        } catch (ConfigException e) {
            System.err.println("berth: " + e.getMessage());
            return 2;
        }
        return switch (command) {
            case "version" -> {
                System.out.println(RuntimeInfo.NAME + " " + RuntimeInfo.version() + " (CRI "
                        + RuntimeInfo.CRI_API_VERSION + ")");
                yield 0;
            }
            case "config" -> {
                System.out.print(ConfigLoader.toToml(config));
                yield 0;
            }
            case "agent" -> runAgent(config);
            case "images" -> io.berth.agent.image.archive.ImportCommand.run(config, words);
            default -> {
                System.err.println("berth: unknown command '" + command + "'\n\n" + USAGE);
                yield 2;
            }
        };
    }

    private static int runAgent(AgentConfig config) {
        Logging.configure(Logging.parseLevel(config.logLevel()));
        Log log = Log.get(Main.class);
        var stop = new CountDownLatch(1);
        // SIGTERM (kubelet, systemd, docker stop) and SIGINT (^C) start an orderly stop. A signal
        // handler rather than a shutdown hook: hooks run beside the JDK's own, which may already have
        // torn down logging.
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Agent agent;
        try {
            agent = Agent.start(config);
        } catch (AgentAlreadyRunningException e) {
            log.error(e.getMessage());
            return 1;
        } catch (Exception e) {
            log.error("berth agent failed to start", e);
            return 1;
        }
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            agent.stop();
            return 0;
        } catch (RuntimeException e) {
            log.error("berth agent did not stop cleanly", e);
            return 1;
        }
    }
}
