# konnectivity-ts as a drop-in for registry.k8s.io/kas-network-proxy/proxy-server and proxy-agent:
# one image, executables at /proxy-server and /proxy-agent (Kamaji's `Command`), plus /konnectivity-events,
# /konnectivity-client and /konnectivity-inspector (one launcher per package.json `bin`, in
# deploy/image/rootfs). Tags: see "Deploy" in README.md (v0.<kubernetes minor>.0 aliases).
#
# scripts/image-tree.js assembles the final stage's file tree without a container engine by reading this
# file; it accepts only the instructions used below, so keep the final stage to COPY/ENV/WORKDIR/USER/
# ENTRYPOINT/LABEL/EXPOSE (test/packaging/imageTree.test.ts runs the binaries from that tree).

ARG NODE_VERSION=20
# Every stage's base: the official Node image. scripts/image-engine-check.sh sets it to a stand-in built on
# the machine (Debian bookworm with that machine's node) where no container registry can be reached.
ARG BASE_IMAGE=node:${NODE_VERSION}-bookworm-slim
# The stage that compiles the native memory helper: the full Node image has python3, make and g++ (on
# another Debian base the stage installs them).
ARG BUILD_IMAGE=node:${NODE_VERSION}-bookworm

# Compile TypeScript with the full dev toolchain (the native helper is built in its own stage).
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The native memory helper (docs/memory.md): without it the processes keep the C heap a large transfer grew.
FROM ${BUILD_IMAGE} AS native
WORKDIR /src
COPY package.json binding.gyp ./
COPY native ./native
COPY scripts/build-native.js ./scripts/
RUN (command -v python3 && command -v make && command -v g++) >/dev/null || \
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 make g++)
RUN KONNECTIVITY_NATIVE=required node scripts/build-native.js

# Production dependencies only (no install scripts: none of them needs one).
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: node, the compiled code, production dependencies and the launchers; nothing runs a shell.
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="konnectivity-ts" \
      org.opencontainers.image.description="Konnectivity server and agent, wire-compatible with apiserver-network-proxy" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# The Node flag every bin/ launcher passes besides the server's and agent's --initial-old-space-size (which
# Node refuses here): a launcher's first line can hold only one flag. An operator's NODE_OPTIONS replaces it.
ENV NODE_OPTIONS=--max-semi-space-size=2
WORKDIR /app
COPY --from=deps /app/node_modules /app/node_modules
COPY --from=build /src/dist /app/dist
COPY --from=native /src/build/Release/konnectivity_memory.node /app/build/Release/konnectivity_memory.node
COPY package.json LICENSE /app/
COPY inspector-ui /app/inspector-ui
COPY deploy/image/rootfs/ /
# A numeric user, so that runAsNonRoot can be verified by the kubelet.
USER 65532:65532
EXPOSE 8132 8133 8134
ENTRYPOINT ["/proxy-server"]
