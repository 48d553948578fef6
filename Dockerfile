# staticd container image: a static binary in an otherwise empty image.
#
#   docker build -t staticd .
#   docker run --rm -p 8080:80 -v "$PWD/site:/var/www/html:ro" staticd
#   docker run --rm -p 8080:80 -v "$PWD/httpd.conf:/etc/httpd.conf:ro" -v ... staticd
#
# Configuration, lowest to highest: /etc/staticd/container.conf (document
# root /var/www/html, port 80), then /etc/httpd.conf when mounted (the
# assignment format: document_root, cpu_limit, thread_limit, listen), then
# STATICD_* variables, then arguments after the image name.
#
# The image serves plain HTTP. For HTTPS, mount the certificates read-only
# and name them in the environment (or in a mounted /etc/httpd.conf, keys
# tls_cert and tls_key); deploy/README.md, "HTTPS", has the whole recipe:
#
#   docker run -d --name staticd -p 443:443 -p 80:80 \
#     -v /etc/letsencrypt:/certs:ro --group-add "$(getent group staticd-tls | cut -d: -f3)" \
#     -e STATICD_TLS_CERT=/certs/live/example.org/fullchain.pem \
#     -e STATICD_TLS_KEY=/certs/live/example.org/privkey.pem \
#     -e STATICD_PORT=443 -e STATICD_REDIRECT_HTTP=80 staticd
#   docker kill --signal HUP staticd     # after a renewal: re-read them
#
# The HEALTHCHECK runs `staticd --probe` with the same config files and the
# container's environment, so it follows the server to HTTPS by itself.
# Arguments after the image name are the one thing it does not see: give
# the port and the TLS settings as STATICD_* variables or in the file.
#
# staticd handles SIGTERM itself (it runs as PID 1 here): it stops
# accepting, finishes requests in flight for up to --grace-period (10 s),
# and exits 0, so `docker stop` returns promptly.

# ---------------------------------------------------------------------------
# Build stage: the official Rust image on Alpine targets musl, whose binaries
# are statically linked by default; the result needs no libc in the image.
# ---------------------------------------------------------------------------
FROM rust:1-alpine AS build

# musl-dev: the C runtime objects the linker needs.
RUN apk add --no-cache musl-dev

WORKDIR /build

# Dependencies first, against a stub crate, so this slow layer is rebuilt
# only when Cargo.toml or Cargo.lock change. --locked refuses to resolve
# versions other than Cargo.lock's.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/staticd target/release/staticd.d \
        target/release/deps/staticd-* target/release/deps/libstaticd-* \
        target/release/.fingerprint/staticd-*

# The real sources (touched, since COPY keeps old modification times that
# cargo could mistake for up to date). The binary gets no file capability:
# one would make it refuse to start under `--cap-drop ALL` (or a Kubernetes
# pod dropping ALL). The non-root user binds port 80 because Docker (20.10+)
# sets net.ipv4.ip_unprivileged_port_start=0 in containers; on an engine
# that does not, run with `--cap-add NET_BIND_SERVICE` or set `listen 8080`
# in /etc/httpd.conf and publish that port.
COPY src ./src
RUN find src -type f -exec touch {} + \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/staticd /out/usr/local/bin/staticd

# Everything the final image holds is laid out under /out.
COPY deploy/docker/container.conf /out/etc/staticd/container.conf
COPY deploy/docker/index.html /out/var/www/html/index.html

# ---------------------------------------------------------------------------
# Runtime: scratch. No shell, no package manager, nothing to exploit but the
# server itself; it runs as an unprivileged numeric user.
# ---------------------------------------------------------------------------
FROM scratch
COPY --from=build /out/ /
USER 65532:65532
EXPOSE 80
STOPSIGNAL SIGTERM
# Exec form: the probe is the server binary itself (no shell or curl here).
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD ["/usr/local/bin/staticd", "--config", "/etc/staticd/container.conf", "--optional-config", "/etc/httpd.conf", "--probe", "/"]
ENTRYPOINT ["/usr/local/bin/staticd", "--config", "/etc/staticd/container.conf", "--optional-config", "/etc/httpd.conf"]
