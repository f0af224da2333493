# Image of the open-loop load driver (Kubernetes Job).
# Build from the repository root (the context must hold CMakeLists.txt):
#   docker build -f docker/load_driver.Dockerfile -t REGISTRY/knbench-load-driver:TAG .
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
# Only what the load_driver target needs: the top-level CMakeLists.txt adds each
# component directory that exists, so the others are simply left out.
COPY CMakeLists.txt ./
COPY proto/ proto/
COPY common/ common/
COPY load_driver/ load_driver/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKNBENCH_BUILD_TESTS=OFF \
 && cmake --build build --target load_driver -j"$(nproc)" \
 && strip build/load_driver/load_driver

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
COPY --from=build /src/build/load_driver/load_driver /usr/local/bin/load_driver
# Numeric non-root user: Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
# Metrics, and after the run /results.csv and /summary.json, on 2113.
EXPOSE 2113
# Exec form: the binary is PID 1 and gets SIGTERM directly; no shell is used.
ENTRYPOINT ["/usr/local/bin/load_driver"]
