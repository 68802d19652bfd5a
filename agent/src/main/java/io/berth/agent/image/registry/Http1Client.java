package io.berth.agent.image.registry;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * The registry client's HTTP/1.1: blocking sockets, kept-alive connections per origin, TLS through
 * {@link SSLSocket}. It takes and gives the JDK's {@code java.net.http} request and response types,
 * so the registry code reads as it would with {@link HttpClient}.
 *
 * <p>Why not the JDK's client: a pull is a chain of requests that each wait for the last (manifest,
 * then layers), and its layers stream at hundreds of MB/s into a decompressor that needs the CPU.
 * Measured against the loopback registry on this 2-vCPU VM, warm: the JDK client took 3.3 ms for a
 * manifest and 6.5 ms to a 5 MB blob's headers where a blocking socket took 1.8 and 4.7 (its selector
 * thread hands every response over to a worker thread), and it used ~16 ms of CPU per 5 MB
 * layer beyond the hashing, where a socket read into arrays needs a few.
 *
 * <p>A response's body is read on the caller's thread ({@link #send(HttpRequest)}), or pumped into
 * a {@link HttpResponse.BodySubscriber} on a thread of its own ({@link #send(HttpRequest,
 * HttpResponse.BodyHandler)}), which is how a blob's bytes are hashed as they arrive. A connection
 * goes back to the pool only once its response body has been read to the end; one whose body is
 * left unread is closed. A request's {@link HttpRequest#timeout() timeout} bounds the wait for the
 * response headers and, after that, for each further read of the body.
 */
final class Http1Client {
    /**
     * A kept-alive connection idle longer than this is closed rather than reused: proxies and load
     * balancers in front of registries drop idle connections, and a dropped one costs a retry.
     */
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_IDLE_PER_ORIGIN = 8;
    private static final int MAX_HEADER_BYTES = 64 << 10;
    private static final int CHUNK = 64 << 10;
    /** Threads that pump response bodies into subscribers (they hash blobs: CPU work, so platform threads). */
    private static final ExecutorService PUMP = Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon().name("registry-read-", 0).factory());

    private final SSLContext ssl;
    private final Duration connectTimeout;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, ArrayDeque<Connection>> idle = new HashMap<>();

    Http1Client(SSLContext ssl, Duration connectTimeout) {
        this.ssl = ssl;
        this.connectTimeout = connectTimeout;
    }

    /** Sends {@code req} and returns once the response headers are in; the body streams from the connection. */
    HttpResponse<InputStream> send(HttpRequest req) throws IOException, InterruptedException {
        Exchange x = exchange(req);
        return new Response<>(req, x.status, x.headers, x.body, x.conn.session());
    }

    /**
     * Sends {@code req}; the body is handed to {@code handler}'s subscriber on a thread of its own,
     * as fast as it requests. Returns once the subscriber's body is available (for
     * {@link BlobBody}, at once; for a handler that collects the body, at its end).
     */
    <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler)
            throws IOException, InterruptedException {
        Exchange x = exchange(req);
        // A subscriber that notices a stall itself (BlobBody) says so, with its own words, before
        // the socket's guard against one that does not fires.
        x.conn.socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, 2L * x.conn.socket.getSoTimeout()));
        HttpResponse.BodySubscriber<T> subscriber;
        try {
            subscriber = handler.apply(info(x));
        } catch (RuntimeException e) {
            x.body.abort();
            throw e;
        }
        var pump = new Pump<>(x.body, subscriber);
        subscriber.onSubscribe(pump);
        PUMP.execute(pump);
        try {
            T body = subscriber.getBody().toCompletableFuture().get();
            return new Response<>(req, x.status, x.headers, body, x.conn.session());
        } catch (ExecutionException e) {
            pump.cancel();
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().toString(), e.getCause());
        } catch (InterruptedException e) {
            pump.cancel();
            throw e;
        }
    }

    private static HttpResponse.ResponseInfo info(Exchange x) {
        return new HttpResponse.ResponseInfo() {
            @Override
            public int statusCode() {
                return x.status;
            }

            @Override
            public HttpHeaders headers() {
                return x.headers;
            }

            @Override
            public HttpClient.Version version() {
                return HttpClient.Version.HTTP_1_1;
            }
        };
    }

    private record Exchange(Connection conn, int status, HttpHeaders headers, Body body) {
    }

    private Exchange exchange(HttpRequest req) throws IOException {
        URI uri = req.uri();
        boolean tls = switch (uri.getScheme().toLowerCase(Locale.ROOT)) {
            case "https" -> true;
            case "http" -> false;
            default -> throw new IllegalArgumentException("not an http(s) URI: " + uri);
        };
        int port = uri.getPort() >= 0 ? uri.getPort() : tls ? 443 : 80;
        String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1)
                : uri.getHost();
        String origin = (tls ? "https://" : "http://") + uri.getHost() + ":" + port;
        byte[] body = bodyBytes(req);
        int timeoutMs = (int) Math.min(Integer.MAX_VALUE, req.timeout().orElse(Duration.ofMinutes(5)).toMillis());
        byte[] head = head(req, uri, port, tls, body.length);
        while (true) {
            Connection pooled = takeIdle(origin);
            Connection c = pooled != null ? pooled : connect(host, port, tls, origin);
            try {
                c.socket.setSoTimeout(timeoutMs);
                c.out.write(head);
                c.out.write(body);
                c.out.flush();
                return readResponse(c, req.method());
            } catch (SocketTimeoutException e) {
                c.close();
                var t = new HttpTimeoutException("no response from " + origin + " within " + timeoutMs + " ms");
                t.initCause(e);
                throw t;
            } catch (IOException e) {
                c.close();
                // A kept-alive connection the server closed while idle fails before any answer:
                // once more on a new one, as the JDK's client does. A new connection's failure is real.
                if (pooled == null || c.answered) {
                    throw e;
                }
            }
        }
    }

    private static byte[] head(HttpRequest req, URI uri, int port, boolean tls, int bodyLength) {
        var s = new StringBuilder(256);
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        s.append(req.method()).append(' ').append(path);
        if (uri.getRawQuery() != null) {
            s.append('?').append(uri.getRawQuery());
        }
        s.append(" HTTP/1.1\r\nHost: ").append(uri.getHost()); // an IPv6 literal keeps its brackets
        if (port != (tls ? 443 : 80)) {
            s.append(':').append(port);
        }
        s.append("\r\n");
        req.headers().map().forEach((name, values) -> {
            for (String v : values) {
                if (v.indexOf('\r') >= 0 || v.indexOf('\n') >= 0) {
                    throw new IllegalArgumentException("header " + name + " has a line break");
                }
                s.append(name).append(": ").append(v).append("\r\n");
            }
        });
        if (bodyLength > 0 || !req.method().equals("GET") && !req.method().equals("HEAD")) {
            s.append("Content-Length: ").append(bodyLength).append("\r\n");
        }
        return s.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The request's body: registry calls send none, a token request a small form. */
    private static byte[] bodyBytes(HttpRequest req) throws IOException {
        Optional<HttpRequest.BodyPublisher> p = req.bodyPublisher();
        if (p.isEmpty() || p.get().contentLength() == 0) {
            return new byte[0];
        }
        var out = new ByteArrayOutputStream();
        var done = new CompletableFuture<Void>();
        p.get().subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer b) {
                byte[] a = new byte[b.remaining()];
                b.get(a);
                out.writeBytes(a);
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                done.complete(null);
            }
        });
        try {
            done.get();
        } catch (ExecutionException e) {
            throw new IOException("request body: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("request body");
        }
        return out.toByteArray();
    }

    private Exchange readResponse(Connection c, String method) throws IOException {
        while (true) {
            String statusLine = c.readLine();
            if (statusLine == null) {
                throw new IOException("connection closed before a response");
            }
            c.answered = true;
            // HTTP/1.1 200 OK
            if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
                throw new IOException("not an HTTP/1.x response: " + shorten(statusLine));
            }
            int status;
            try {
                status = Integer.parseInt(statusLine.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("bad status line: " + shorten(statusLine));
            }
            Map<String, List<String>> fields = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            int total = statusLine.length();
            for (String line; !(line = c.readLine()).isEmpty(); ) {
                total += line.length();
                if (total > MAX_HEADER_BYTES) {
                    throw new IOException("response headers over " + MAX_HEADER_BYTES + " bytes");
                }
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("bad header line: " + shorten(line));
                }
                fields.computeIfAbsent(line.substring(0, colon).trim(), k -> new ArrayList<>())
                        .add(line.substring(colon + 1).trim());
            }
            if (status >= 100 && status < 200) {
                continue; // 100 Continue and the like: the real response follows
            }
            HttpHeaders headers = HttpHeaders.of(fields, (a, b) -> true);
            boolean close = headers.allValues("Connection").stream().anyMatch(v -> v.equalsIgnoreCase("close"))
                    || statusLine.startsWith("HTTP/1.0");
            Body body;
            if (method.equals("HEAD") || status == 204 || status == 304) {
                body = new Body(c, close, 0, false);
            } else if (headers.allValues("Transfer-Encoding").stream().anyMatch(v -> v.toLowerCase(Locale.ROOT)
                    .contains("chunked"))) {
                body = new Body(c, close, -1, true);
            } else {
                long length = headers.firstValueAsLong("Content-Length").orElse(-1);
                body = new Body(c, close || length < 0, length, false);
            }
            return new Exchange(c, status, headers, body);
        }
    }

    private static String shorten(String s) {
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }

    private Connection connect(String host, int port, boolean tls, String origin) throws IOException {
        var socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(host, port), (int) connectTimeout.toMillis());
            socket.setTcpNoDelay(true);
            if (tls) {
                var s = (SSLSocket) ssl.getSocketFactory().createSocket(socket, host, port, true);
                var params = s.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                if (!host.matches("[0-9.]+|.*:.*")) {
                    params.setServerNames(List.of(new SNIHostName(host)));
                }
                params.setApplicationProtocols(new String[] {"http/1.1"});
                s.setSSLParameters(params);
                s.setSoTimeout((int) connectTimeout.toMillis());
                s.startHandshake();
                socket = s;
            }
            return new Connection(origin, socket);
        } catch (IOException | RuntimeException e) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // the original error says what went wrong
            }
            if (e instanceof java.net.UnknownHostException || e instanceof java.net.NoRouteToHostException) {
                var c = new java.net.ConnectException(e.getClass().getSimpleName() + ": " + e.getMessage());
                c.initCause(e);
                throw c;
            }
            if (e instanceof SocketTimeoutException t) {
                var h = new HttpTimeoutException("connect to " + origin + " timed out");
                h.initCause(t);
                throw h;
            }
            throw e;
        }
    }

    private Connection takeIdle(String origin) {
        lock.lock();
        try {
            ArrayDeque<Connection> q = idle.get(origin);
            while (q != null && !q.isEmpty()) {
                Connection c = q.pollLast();
                if (System.nanoTime() - c.idleSince < IDLE_TIMEOUT.toNanos()) {
                    return c;
                }
                c.close();
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    private void release(Connection c) {
        c.idleSince = System.nanoTime();
        c.answered = false;
        lock.lock();
        try {
            ArrayDeque<Connection> q = idle.computeIfAbsent(c.origin, k -> new ArrayDeque<>());
            q.addLast(c);
            while (q.size() > MAX_IDLE_PER_ORIGIN) {
                q.pollFirst().close();
            }
        } finally {
            lock.unlock();
        }
    }

    /** One socket to one origin; used by one exchange at a time. */
    private static final class Connection {
        final String origin;
        final Socket socket;
        final BufferedInputStream in;
        final OutputStream out;
        long idleSince;
        /** The current exchange has seen a byte of its response. */
        boolean answered;

        Connection(String origin, Socket socket) throws IOException {
            this.origin = origin;
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 16 << 10);
            this.out = new BufferedOutputStream(socket.getOutputStream(), 4 << 10);
        }

        Optional<SSLSession> session() {
            return socket instanceof SSLSocket s ? Optional.of(s.getSession()) : Optional.empty();
        }

        /** A line without its CRLF; null at the end of the stream before any byte of it. */
        String readLine() throws IOException {
            var s = new StringBuilder(64);
            while (true) {
                int b = in.read();
                if (b < 0) {
                    if (s.isEmpty()) {
                        return null;
                    }
                    throw new IOException("connection closed in the middle of a header line");
                }
                if (b == '\n') {
                    int n = s.length();
                    return n > 0 && s.charAt(n - 1) == '\r' ? s.substring(0, n - 1) : s.toString();
                }
                if (s.length() >= MAX_HEADER_BYTES) {
                    throw new IOException("header line over " + MAX_HEADER_BYTES + " bytes");
                }
                s.append((char) b);
            }
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing to do: it is gone either way
            }
        }
    }

    /**
     * A response body: {@code length} bytes, chunked, or (length -1, not chunked) up to the end of
     * the connection. At its end the connection goes back to the pool unless it must close. Read by
     * one thread; {@link #abort} may come from another (a pump's cancel) and closes the socket.
     */
    private final class Body extends InputStream {
        private final Connection c;
        private final boolean close;
        private final boolean chunked;
        /** Bytes left in the body (or in the current chunk); -1: until the connection ends. */
        private long left;
        private volatile boolean done;
        private boolean released;

        Body(Connection c, boolean close, long length, boolean chunked) {
            this.c = c;
            this.close = close;
            this.chunked = chunked;
            this.left = chunked ? 0 : length;
            if (length == 0 && !chunked) {
                end();
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            try {
                if (chunked && left == 0 && !nextChunk()) {
                    return -1;
                }
                int n = c.in.read(b, off, left < 0 ? len : (int) Math.min(len, left));
                if (n < 0) {
                    if (left < 0) {
                        end(); // the body ends with the connection
                        return -1;
                    }
                    throw new IOException("connection to " + c.origin + " closed with " + left
                            + " bytes of the body to come");
                }
                if (left > 0) {
                    left -= n;
                    if (left == 0) {
                        if (chunked) {
                            expectCrlf(); // each chunk's data ends with one
                        } else {
                            end();
                        }
                    }
                }
                return n;
            } catch (SocketTimeoutException e) {
                var t = new HttpTimeoutException("no data from " + c.origin + " for " + c.socket.getSoTimeout() + " ms");
                abort();
                t.initCause(e);
                throw t;
            } catch (IOException e) {
                abort();
                throw e;
            }
        }

        /** Reads the next chunk's size line; false (and the body ends) at the last chunk. */
        private boolean nextChunk() throws IOException {
            String line = c.readLine();
            if (line == null) {
                throw new IOException("connection to " + c.origin + " closed in a chunked body");
            }
            int semi = line.indexOf(';');
            long size;
            try {
                size = Long.parseLong((semi >= 0 ? line.substring(0, semi) : line).trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size from " + c.origin + ": " + shorten(line));
            }
            if (size < 0) {
                throw new IOException("bad chunk size from " + c.origin + ": " + shorten(line));
            }
            if (size == 0) {
                for (String trailer; (trailer = c.readLine()) != null && !trailer.isEmpty(); ) {
                    // trailer fields: nothing a registry sends that we use
                }
                end();
                return false;
            }
            left = size;
            return true;
        }

        private void expectCrlf() throws IOException {
            String rest = c.readLine();
            if (rest == null || !rest.isEmpty()) {
                throw new IOException("malformed chunked body from " + c.origin);
            }
        }

        @Override
        public int available() throws IOException {
            return done ? 0 : (int) Math.min(c.in.available(), left < 0 ? Integer.MAX_VALUE : left);
        }

        /** Read to its end: the connection may serve the next request. */
        private synchronized void end() {
            done = true;
            if (!released) {
                released = true;
                if (close) {
                    c.close();
                } else {
                    release(c);
                }
            }
        }

        /** Not read to its end, or broken: the connection cannot be reused. */
        synchronized void abort() {
            done = true;
            if (!released) {
                released = true;
                c.close();
            }
        }

        @Override
        public void close() {
            if (!done) {
                abort();
            }
        }
    }

    /** Feeds a body to a subscriber on a pump thread, one chunk per unit of demand. */
    private static final class Pump<T> implements Flow.Subscription, Runnable {
        private final Body body;
        private final HttpResponse.BodySubscriber<T> subscriber;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition wanted = lock.newCondition();
        private long demand;
        private boolean cancelled;

        Pump(Body body, HttpResponse.BodySubscriber<T> subscriber) {
            this.body = body;
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            lock.lock();
            try {
                demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                wanted.signal();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void cancel() {
            lock.lock();
            try {
                cancelled = true;
                wanted.signal();
            } finally {
                lock.unlock();
            }
            body.abort(); // wakes a read blocked on the socket
        }

        @Override
        public void run() {
            try {
                while (true) {
                    lock.lock();
                    try {
                        while (demand == 0 && !cancelled) {
                            wanted.await();
                        }
                        if (cancelled) {
                            return;
                        }
                        demand--;
                    } finally {
                        lock.unlock();
                    }
                    byte[] chunk = new byte[CHUNK];
                    int n = body.read(chunk, 0, CHUNK);
                    if (n < 0) {
                        subscriber.onComplete();
                        return;
                    }
                    // Fill the chunk with what has arrived already: fewer, larger hand-overs.
                    while (n < CHUNK && body.available() > 0) {
                        int k = body.read(chunk, n, CHUNK - n);
                        if (k < 0) {
                            break;
                        }
                        n += k;
                    }
                    subscriber.onNext(List.of(ByteBuffer.wrap(chunk, 0, n)));
                }
            } catch (IOException e) {
                if (!isCancelled()) {
                    subscriber.onError(e);
                }
            } catch (InterruptedException e) {
                body.abort();
                subscriber.onError(new InterruptedIOException("body pump interrupted"));
            } catch (RuntimeException e) {
                body.abort();
                subscriber.onError(e);
            }
        }

        private boolean isCancelled() {
            lock.lock();
            try {
                return cancelled;
            } finally {
                lock.unlock();
            }
        }
    }

    /** A response as {@code java.net.http} describes one. */
    private record Response<T>(HttpRequest request, int statusCode, HttpHeaders headers, T body,
            Optional<SSLSession> sslSession) implements HttpResponse<T> {
        @Override
        public Optional<HttpResponse<T>> previousResponse() {
            return Optional.empty();
        }

        @Override
        public URI uri() {
            return request.uri();
        }

        @Override
        public HttpClient.Version version() {
            return HttpClient.Version.HTTP_1_1;
        }
    }
}
