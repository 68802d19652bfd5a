package io.berth.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private AgentConfig load(String... args) {
        return ConfigLoader.load(ConfigLoader.parse(List.of(args)));
    }

    private Path file(String toml) throws Exception {
        Path f = dir.resolve("config.toml");
        Files.writeString(f, toml);
        return f;
    }

    @Test
    void defaultsWorkWithNoFile() {
        var c = load("--config", "/dev/null");
        assertEquals(AgentConfig.defaults(), c);
        assertEquals("/run/berth/berth.sock", c.socket());
        assertEquals("/var/lib/berth", c.stateDir());
    }

    @Test
    void fileOverridesDefaultsAndFlagsOverrideTheFile() throws Exception {
        Path f = file("""
                state_dir = "/srv/berth"
                log_level = "debug"
                [http]
                port = 7000
                """);
        var c = load("--config", f.toString(), "--log-level", "warn", "--http-address=0.0.0.0");
        assertEquals("/srv/berth", c.stateDir());
        assertEquals("warn", c.logLevel());
        assertEquals(7000, c.http().port());
        assertEquals("0.0.0.0", c.http().address());
        assertEquals("/run/berth", c.runDir(), "untouched keys keep their defaults");
    }

    @Test
    void aRegistryTableTakesDefaultsForTheKeysItLeavesOut() throws Exception {
        Path f = file("""
                [images.registries."registry.example:5000"]
                ca_file = "/etc/ssl/example-ca.pem"
                [images.registries."other.example"]
                mirrors = ["http://127.0.0.1:5001"]
                """);
        var regs = load("--config", f.toString()).images().registries();
        assertEquals(new AgentConfig.Registry(List.of(), false, "/etc/ssl/example-ca.pem"),
                regs.get("registry.example:5000"));
        assertEquals(new AgentConfig.Registry(List.of("http://127.0.0.1:5001"), false, ""), regs.get("other.example"));
    }

    @Test
    void everyDocumentedFlagOverridesItsKey() {
        var c = load("--config", "/dev/null", "--socket", "/s.sock", "--state-dir", "/st", "--run-dir", "/r",
                "--cgroup-driver", "systemd", "--http-port", "0");
        assertEquals("/s.sock", c.socket());
        assertEquals("/st", c.stateDir());
        assertEquals("/r", c.runDir());
        assertEquals("systemd", c.cgroupDriver());
        assertEquals(0, c.http().port());
    }

    @Test
    void unknownKeyIsNamed() throws Exception {
        Path f = file("sokcet = \"/x\"\n");
        var e = assertThrows(ConfigException.class, () -> load("--config", f.toString()));
        assertTrue(e.getMessage().contains("unknown key 'sokcet'"), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void unknownNestedKeyIsNamedWithItsTable() throws Exception {
        Path f = file("[http]\nprot = 1\n");
        var e = assertThrows(ConfigException.class, () -> load("--config", f.toString()));
        assertTrue(e.getMessage().contains("'http.prot'"), e.getMessage());
    }

    @Test
    void badValuesAreRefusedWithTheirKey() {
        assertMessage("http.port", "--config", "/dev/null", "--http-port", "70000");
        assertMessage("http.port", "--config", "/dev/null", "--http-port", "eighty");
        assertMessage("log_level", "--config", "/dev/null", "--log-level", "loud");
        assertMessage("cgroup_driver", "--config", "/dev/null", "--cgroup-driver", "v3");
        assertMessage("state_dir: must be an absolute path", "--config", "/dev/null", "--state-dir", "relative");
    }

    @Test
    void procMountIsAutoOrHelper() throws Exception {
        assertEquals("auto", load("--config", "/dev/null").procMount());
        assertEquals("helper", load("--config", file("proc_mount = \"helper\"\n").toString()).procMount());
        var e = assertThrows(ConfigException.class, () -> load("--config", file("proc_mount = \"pidns\"\n").toString()));
        assertTrue(e.getMessage().contains("proc_mount: 'pidns' is not one of auto, helper"), e.getMessage());
    }

    @Test
    void shimMemorySharingIsOnUnlessTurnedOff() throws Exception {
        assertTrue(load("--config", "/dev/null").shimMemorySharing());
        assertFalse(load("--config", file("shim_memory_sharing = false\n").toString()).shimMemorySharing());
        var e = assertThrows(ConfigException.class, () -> load("--config", file("shim_memory_sharing = \"yes\"\n").toString()));
        assertTrue(e.getMessage().contains("shim_memory_sharing"), e.getMessage());
    }

    @Test
    void brokenTomlIsReported() throws Exception {
        Path f = file("socket = \n");
        var e = assertThrows(ConfigException.class, () -> load("--config", f.toString()));
        assertTrue(e.getMessage().contains("not valid TOML"), e.getMessage());
    }

    @Test
    void aMissingExplicitFileIsAnError() {
        assertMessage("does not exist", "--config", dir.resolve("nope.toml").toString());
    }

    @Test
    void unknownFlagsAndMissingValuesAreRefused() {
        assertMessage("unknown flag --sockett", "--sockett", "/x");
        assertMessage("--socket needs a value", "--socket");
    }

    @Test
    void printedTomlReadsBackToTheSameConfig() throws Exception {
        var c = load("--config", "/dev/null", "--http-port", "1234", "--socket", "/a b/c.sock");
        Path f = file(ConfigLoader.toToml(c));
        assertEquals(c, load("--config", f.toString()));
    }

    private void assertMessage(String expected, String... args) {
        var e = assertThrows(ConfigException.class, () -> load(args));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void theStreamingTableHasDefaultsAndIsValidated() throws Exception {
        var c = load("--config", "/dev/null");
        assertEquals(new AgentConfig.Streaming("127.0.0.1", 0, 60), c.streaming());
        c = load("--config", file("[streaming]\naddress = \"0.0.0.0\"\nport = 10010\ntoken_ttl_seconds = 5\n").toString(),
                "--streaming-port", "10011");
        assertEquals(new AgentConfig.Streaming("0.0.0.0", 10011, 5), c.streaming());
        var e = assertThrows(ConfigException.class, () -> load("--config", "/dev/null", "--streaming-port", "70000"));
        assertTrue(e.getMessage().contains("streaming.port"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("--config", file("[streaming]\ntoken_ttl_seconds = 0\n").toString()));
        assertTrue(e.getMessage().contains("streaming.token_ttl_seconds"), e.getMessage());
    }
}
