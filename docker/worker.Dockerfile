# Image of the gRPC worker (Knative Service).
# Build from the repository root (the context must hold CMakeLists.txt):
#   docker build -f docker/worker.Dockerfile -t REGISTRY/knbench-worker:TAG .
# scripts/build_and_push.sh does this for both images.

# --- build: the same Debian packages as scripts/install_deps.sh's build set ---
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev prometheus-cpp-dev libcivetweb-dev cmake g++ make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the worker target needs: the top-level CMakeLists.txt adds each
# component directory that exists, so the others are simply left out.
COPY CMakeLists.txt ./
COPY proto/ proto/
COPY common/ common/
COPY worker/ worker/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKNBENCH_BUILD_TESTS=OFF \
 && cmake --build build --target worker -j"$(nproc)" \
 && strip build/worker/worker

# --- runtime: the binary and its shared libraries only ---
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries of the binary (found with ldd + dpkg -S on a build;
# apt pulls their own dependencies: libgrpc29, c-ares, re2, OpenSSL).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libprometheus-cpp-core1.0 \
      libcivetweb1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/worker/worker /usr/local/bin/worker
# Numeric non-root user: Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
# gRPC on 50051 (Knative injects PORT), metrics on 2112 (METRICS_PORT).
EXPOSE 50051 2112
# Exec form: the binary is PID 1 and gets SIGTERM directly; no shell is used.
ENTRYPOINT ["/usr/local/bin/worker"]
