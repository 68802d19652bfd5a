package io.berth.agent.streaming;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outcome of an exec or attach on the error stream, as kubelet writes it
 * (k8s.io/kubelet/pkg/cri/streaming/remotecommand/exec.go): protocol v4 and later carry a
 * metav1.Status as JSON (Success; or Failure with reason NonZeroExitCode and the exit code as
 * cause ExitCode; or InternalError, code 500); earlier versions carry only a failure's message.
 */
record Status(boolean success, String message, String reason, Integer exitCode, Integer code) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Status ok() {
        return new Status(true, "", "", null, null);
    }

    static Status exit(int exitCode, String what) {
        return new Status(false, "command terminated with non-zero exit code: error executing command " + what
                + ", exit code " + exitCode, "NonZeroExitCode", exitCode, null);
    }

    static Status internal(String message) {
        return new Status(false, "Internal error occurred: " + message, "InternalError", null, 500);
    }

    /** metav1.Status as encoding/json writes it: empty metadata, omitempty fields left out. */
    byte[] json() {
        var m = new LinkedHashMap<String, Object>();
        m.put("metadata", Map.of());
        m.put("status", success ? "Success" : "Failure");
        if (!message.isEmpty()) m.put("message", message);
        if (!reason.isEmpty()) m.put("reason", reason);
        if (exitCode != null) {
            m.put("details", Map.of("causes", List.of(cause("ExitCode", exitCode.toString()))));
        } else if (code != null) {
            m.put("details", Map.of("causes", List.of(cause("", message))));
        }
        if (code != null) m.put("code", code);
        try {
            return JSON.writeValueAsBytes(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** metav1.StatusCause in its field order: Type (as "reason"), Message; empty ones left out. */
    private static Map<String, Object> cause(String type, String message) {
        var c = new LinkedHashMap<String, Object>();
        if (!type.isEmpty()) c.put("reason", type);
        if (!message.isEmpty()) c.put("message", message);
        return c;
    }

    /** The pre-v4 error stream: nothing for success, the message otherwise. */
    byte[] text() {
        return success ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
    }
}
