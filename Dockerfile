# staticd container image.
#
#   docker build -t staticd .
#   docker run --rm -p 8080:80 -v "$PWD/site:/var/www/html:ro" staticd
#
# Any arguments after the image name replace CMD, e.g.
#   docker run --rm -p 8080:8080 staticd --root /var/www/html --bind 0.0.0.0 --port 8080 --autoindex on
#
# staticd runs as PID 1 here. The kernel does not apply the default action of
# SIGTERM to a PID 1 that installed no handler, so staticd installs its own:
# SIGTERM and SIGINT make it exit 0, and `docker stop` returns at once.

# ---------------------------------------------------------------------------
# Build stage: the official Rust image on Debian bookworm (the same release as
# the runtime stage below, so the binary links against the glibc it runs with).
# ---------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS build

# libcap2-bin provides setcap, used at the end of this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependencies first. With only the manifests and a stub crate in place, this
# layer (the slow part: tokio, clap, tracing, ...) is rebuilt only when
# Cargo.toml or Cargo.lock change, not on every source edit. --locked makes the
# build fail instead of silently resolving different versions than Cargo.lock.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src \
        target/release/staticd target/release/staticd.d target/release/libstaticd.* \
        target/release/.fingerprint/staticd-* \
        target/release/deps/staticd-* target/release/deps/libstaticd-*

# The real sources. The stub's artifacts were removed above, and the sources
# are touched, so cargo cannot mistake them for up to date (COPY keeps the
# files' original modification times, which may be older than the stub build).
# setcap lets the non-root user bind ports below 1024 even on engines that do
# not set net.ipv4.ip_unprivileged_port_start=0 (see the runtime stage).
COPY src ./src
RUN find src -type f -exec touch {} + \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/staticd /out/staticd \
    && setcap cap_net_bind_service=+ep /out/staticd \
    && getcap /out/staticd

# ---------------------------------------------------------------------------
# Runtime stage: debian:bookworm-slim.
# Chosen over a distroless "cc" image because it is the same Debian release as
# the build stage (matching glibc), and its shell lets this stage create the
# user and the document root with plain RUN steps and lets an operator
# `docker exec` into a running container to look around. Distroless would save
# some tens of MB; the binary needs nothing beyond glibc either way.
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim

# A fixed numeric UID/GID, so `USER` below and volume ownership on the host do
# not depend on name lookups.
RUN groupadd --gid 10001 staticd \
    && useradd --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin staticd \
    && mkdir -p /var/www/html \
    && printf '%s\n' \
        '<!doctype html>' \
        '<html lang="en"><head><meta charset="utf-8"><title>staticd</title></head>' \
        '<body><h1>staticd is running</h1>' \
        '<p>Mount your site over <code>/var/www/html</code> to serve it.</p></body></html>' \
        > /var/www/html/index.html
# The content stays owned by root and is only readable by the server: it never
# needs to write there.

COPY --from=build /out/staticd /usr/local/bin/staticd

# Port 80 as a non-root user. Two mechanisms, either one is enough:
#  1. Docker (20.10 and later) sets net.ipv4.ip_unprivileged_port_start=0 in
#     each container's network namespace, so any user may bind port 80 there.
#  2. For engines that do not, the binary carries the file capability
#     cap_net_bind_service (setcap in the build stage). Caveats: some builders
#     drop file capabilities when copying between stages, leaving only (1);
#     and a file capability with the effective bit makes exec fail with
#     "operation not permitted" if NET_BIND_SERVICE is missing from the
#     container's bounding set (`--cap-drop ALL`, or a Kubernetes pod dropping
#     ALL capabilities): then also add it back (`--cap-add NET_BIND_SERVICE`).
USER 10001:10001
EXPOSE 80
ENTRYPOINT ["/usr/local/bin/staticd"]
CMD ["--root", "/var/www/html", "--bind", "0.0.0.0", "--port", "80"]
