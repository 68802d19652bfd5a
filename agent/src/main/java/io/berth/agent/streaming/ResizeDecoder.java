package io.berth.agent.streaming;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The resize stream: a sequence of JSON objects {"Width":W,"Height":H} (client-go's
 * remotecommand.TerminalSize, field names as Go's encoding/json writes them), which may arrive
 * split across or packed into data frames; kubelet reads it with a json.Decoder.
 */
final class ResizeDecoder {
    record Size(int width, int height) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    /** Feeds bytes; returns the sizes completed by them (malformed objects are skipped). */
    List<Size> feed(byte[] data) {
        pending.write(data, 0, data.length);
        byte[] buf = pending.toByteArray();
        var sizes = new ArrayList<Size>();
        int depth = 0;
        int start = -1;
        int consumed = 0;
        for (int i = 0; i < buf.length; i++) {
            if (buf[i] == '{') {
                if (depth++ == 0) start = i;
            } else if (buf[i] == '}' && depth > 0 && --depth == 0) {
                try {
                    JsonNode n = JSON.readTree(buf, start, i + 1 - start);
                    int w = n.path("Width").asInt(n.path("width").asInt(0));
                    int h = n.path("Height").asInt(n.path("height").asInt(0));
                    if (w > 0 && h > 0 && w <= 65535 && h <= 65535) sizes.add(new Size(w, h));
                } catch (java.io.IOException e) {
                    // not a size: skip it, as kubelet stops at the first bad one only for its own stream
                }
                consumed = i + 1;
            }
        }
        if (depth == 0) consumed = buf.length;
        pending.reset();
        pending.write(buf, consumed, buf.length - consumed);
        return sizes;
    }
}
