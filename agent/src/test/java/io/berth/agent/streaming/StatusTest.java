package io.berth.agent.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The error stream's metav1.Status, byte for byte as kubelet's encoding/json writes it. */
class StatusTest {
    static String s(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void success() {
        assertEquals("{\"metadata\":{},\"status\":\"Success\"}", s(Status.ok().json()));
        assertEquals("", s(Status.ok().text()));
    }

    @Test
    void nonZeroExitCarriesTheCodeAsACause() {
        var st = Status.exit(3, "[sh -c exit 3]");
        assertEquals("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: "
                + "error executing command [sh -c exit 3], exit code 3\",\"reason\":\"NonZeroExitCode\","
                + "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}", s(st.json()));
        assertEquals("command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
                s(st.text()));
    }

    @Test
    void internalErrorsHaveCode500() {
        String json = s(Status.internal("boom").json());
        assertEquals("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: boom\","
                + "\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":\"Internal error occurred: boom\"}]},"
                + "\"code\":500}", json);
    }
}
