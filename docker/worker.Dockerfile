# Image of the gRPC worker (Knative Service).
# Build from the repository root (the context must hold CMakeLists.txt):
#   docker build -f docker/worker.Dockerfile -t REGISTRY/knbench-worker:TAG .
# scripts/build_and_push.sh does this for both images, with Docker, Podman or
# Buildah (docs/deploy.md, "Images").

# --- build: the same Debian packages as scripts/install_deps.sh's build set ---
# Everything down to the libraries' build is the same in both Dockerfiles, so
# a layer cache builds it once for both images: keep it that way.
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev prometheus-cpp-dev libcivetweb-dev libnghttp2-dev nlohmann-json3-dev \
      libcurl4-openssl-dev \
      pkg-config \
      cmake g++ make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The top-level CMakeLists.txt adds each component directory that exists:
# first the libraries both binaries use, then only this image's component.
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY proto/ proto/
COPY common/ common/
COPY tracing/ tracing/
COPY docker/runtime_rootfs.sh docker/
# KNBENCH_STATIC: gRPC, protobuf, abseil, c-ares, re2, zlib from Debian's
# static archives (cmake/KnbenchStatic.cmake).
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKNBENCH_BUILD_TESTS=OFF -DKNBENCH_STATIC=ON \
 && cmake --build build -j"$(nproc)"
COPY worker/ worker/
RUN cmake -S . -B build \
 && cmake --build build --target worker -j"$(nproc)" \
 && docker/runtime_rootfs.sh --dlopen libcurl.so.4 build/worker/worker /rootfs

# --- runtime: the binary, the shared libraries it still loads, /out ---
# libcurl (and what it needs) too: --otlp-endpoint loads it at run time.
# No shell, no package manager (docs/deploy.md, "Images").
FROM scratch
COPY --from=build /rootfs/ /
# Numeric non-root user: Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
# gRPC on 50051 (Knative injects PORT), metrics on 2112 (METRICS_PORT).
EXPOSE 50051 2112
# Exec form: the binary is PID 1 and gets SIGTERM directly; there is no shell.
ENTRYPOINT ["/usr/local/bin/worker"]
