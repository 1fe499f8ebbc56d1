# syntax=docker/dockerfile:1
#
# Tollgate's container image: built from source in the first stage, and only the binary in the
# second, which runs as a user without privileges (docs/OPERATIONS.md, "Install").
#
#   docker build --build-arg TOLLGATE_COMMIT="$(git rev-parse --short HEAD)" -t tollgate .
#   docker run -p 8443:8443 -p 9090:9090 -v tollgate-data:/var/lib/tollgate tollgate
#
# The image serves HTTPS on 8443 (a self-signed certificate in the volume unless
# TOLLGATE_TLS_CERT and TOLLGATE_TLS_KEY name mounted files) and metrics and probes over plain
# HTTP on 9090; its HEALTHCHECK asks /healthz there with `tollgate probe`.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build
# A C compiler for the bundled SQLite and libpq, and OpenSSL's headers for libpq's TLS.
# Unpinned on purpose: Debian's stable point releases bring only fixes.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# .git is not in the build context (.dockerignore): the commit comes in as an argument.
ARG TOLLGATE_COMMIT=unknown
RUN TOLLGATE_COMMIT="${TOLLGATE_COMMIT}" cargo build --release --locked -p tollgate \
    && install -D -m 0755 target/release/tollgate /out/tollgate \
    && mkdir -p /out/data

# glibc, libgcc, OpenSSL's libraries and CA certificates; no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/tollgate /usr/local/bin/tollgate
# An empty data folder the unprivileged user owns (a new volume takes its owner from it).
COPY --from=build --chown=65532:65532 /out/data /var/lib/tollgate
USER 65532:65532
ENV TOLLGATE_LISTEN=0.0.0.0:8443 \
    TOLLGATE_METRICS_LISTEN=0.0.0.0:9090 \
    TOLLGATE_DATA_DIR=/var/lib/tollgate \
    TOLLGATE_DATABASE_URL=sqlite:///var/lib/tollgate/tollgate.db \
    TOLLGATE_LOG_FORMAT=json
EXPOSE 8443 9090
VOLUME ["/var/lib/tollgate"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/tollgate", "probe"]
ENTRYPOINT ["/usr/local/bin/tollgate"]
CMD ["serve"]
