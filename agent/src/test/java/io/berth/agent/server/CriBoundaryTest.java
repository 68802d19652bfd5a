package io.berth.agent.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.berth.agent.domain.BerthException;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class CriBoundaryTest {
    @Test
    void domainFailuresKeepTheirMessageAndMapByKind() {
        var status = CriBoundary.toStatus("RemoveImage", BerthException.notFound("image sha256:ab not found"));
        assertEquals(Status.Code.NOT_FOUND, status.getCode());
        assertEquals("image sha256:ab not found", status.getDescription());
        assertEquals(Status.Code.INVALID_ARGUMENT,
                CriBoundary.toStatus("X", BerthException.invalid("bad")).getCode());
        for (var kind : BerthException.Kind.values()) {
            assertEquals(kind.name(), CriBoundary.toStatus("X", new BerthException(kind, "m")).getCode().name());
        }
    }

    @Test
    void unexpectedExceptionsAreInternalAndNameTheMethod() {
        var status = CriBoundary.toStatus("PullImage", new IllegalStateException("oops"));
        assertEquals(Status.Code.INTERNAL, status.getCode());
        assertEquals("PullImage: java.lang.IllegalStateException: oops", status.getDescription());
    }

    @Test
    void grpcStatusesPassThrough() {
        var status = CriBoundary.toStatus("X", Status.ABORTED.withDescription("a").asRuntimeException());
        assertEquals(Status.Code.ABORTED, status.getCode());
    }
}
