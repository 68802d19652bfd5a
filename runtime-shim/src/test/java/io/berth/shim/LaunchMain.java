package io.berth.shim;

import io.berth.shim.api.ContainerSpec;
import io.berth.shim.api.ShimLauncher;
import java.nio.file.Files;
import java.nio.file.Path;

/** A stand-in agent for the launcher-death test: launches one shim, says so, then waits to be killed. */
public final class LaunchMain {
    private LaunchMain() {
    }

    public static void main(String[] args) throws Exception {
        ContainerSpec spec = ContainerSpec.parseFrom(Files.readAllBytes(Path.of(args[2])));
        ShimLauncher.launch(Path.of(args[0]), Path.of(args[1]), spec);
        System.out.println("CREATED");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
