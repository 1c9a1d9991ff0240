# syntax=docker/dockerfile:1
# Sesame: a release build in a Rust image, run from a slim Debian image as a non-root user.

FROM rust:1-slim-bookworm AS build
# make: jemalloc, Sesame's allocator, is built from its C sources.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The registry and target folders are build caches: rebuilding after a source change reuses
# the compiled dependencies. The binary is copied out because cache mounts do not persist.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin sesame \
    && cp target/release/sesame /usr/local/bin/sesame

FROM debian:bookworm-slim
# ca-certificates: TLS to SMS providers and managed Postgres/Redis; curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin sesame \
    && mkdir -p /app/keys \
    && chown -R sesame:sesame /app \
    && chmod 0700 /app/keys
COPY --from=build /usr/local/bin/sesame /usr/local/bin/sesame
USER sesame
WORKDIR /app
ENV SESAME_ENV=production \
    SESAME_LISTEN=0.0.0.0:8080 \
    SESAME_KEYS_DIR=/app/keys \
    SESAME_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/app/keys"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["sesame"]
CMD ["serve"]
