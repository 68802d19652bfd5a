package io.berth.agent.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResizeDecoderTest {
    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void objectsSplitAcrossAndPackedIntoFrames() {
        var d = new ResizeDecoder();
        assertEquals(List.of(), d.feed(b("{\"Width\":80,")));
        assertEquals(List.of(new ResizeDecoder.Size(80, 24)), d.feed(b("\"Height\":24}\n{\"Width\":100")));
        assertEquals(List.of(new ResizeDecoder.Size(100, 30), new ResizeDecoder.Size(1, 2)),
                d.feed(b(",\"Height\":30}{\"Width\":1,\"Height\":2}")));
    }

    @Test
    void nonsenseAndZeroSizesAreSkipped() {
        var d = new ResizeDecoder();
        assertEquals(List.of(new ResizeDecoder.Size(5, 6)), d.feed(b("{\"Width\":0,\"Height\":0}{oops}{\"Width\":5,\"Height\":6}")));
    }
}
