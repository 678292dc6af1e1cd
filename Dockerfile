# syntax=docker/dockerfile:1
#
# The three images manifests/ runs, one target each:
#   docker buildx build --target autoscaler    -t dilu/autoscaler:0.1.0 .
#   docker buildx build --target webhook       -t dilu/webhook:0.1.0 .
#   docker buildx build --target device-plugin -t dilu/device-plugin:0.1.0 .
# scripts/build-images.sh (npm run images) builds all three with the tags the manifests name.
#
# The manifests give only `args`, never `command`, so each target's ENTRYPOINT is the component's
# command (its package.json `bin`) and CMD is only a default for `docker run` without arguments.

# Both stages on the same Debian release, so that anything built against glibc in the build
# stage runs in the runtime one. Pin by digest here (or with --build-arg) for reproducible builds.
ARG BUILD_IMAGE=node:24-bookworm
ARG RUNTIME_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------
# build: every workspace compiled, then packed the way npm publishes it.
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Manifests before sources, so the npm ci layer is reused while only sources change. npm ci
# checks every workspace of the lockfile, so all three package.json files are needed.
COPY package.json package-lock.json ./
COPY autoscaler/package.json autoscaler/
COPY device-plugin/package.json device-plugin/
COPY webhook/package.json webhook/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY autoscaler/ autoscaler/
COPY device-plugin/ device-plugin/
COPY webhook/ webhook/
# The three packages only: the root tsconfig also references test/, which no image needs.
RUN npx tsc -b autoscaler device-plugin webhook
# npm pack keeps exactly what each package's `files` lists (bin, dist without tests and
# benchmarks, and the data, proto and fixture folders the code reads at run time).
RUN mkdir -p /packs \
  && npm pack --workspace autoscaler --workspace device-plugin --workspace webhook \
    --pack-destination /packs \
  && for p in autoscaler device-plugin webhook; do \
    mkdir -p "/out/$p" && tar -xzf /packs/dilu-"$p"-*.tgz -C "/out/$p" --strip-components=1; \
  done

# ---------------------------------------------------------------------------------------------
# Production dependencies, installed clean from the lockfile for one workspace at a time, so an
# image holds only what its component imports. No install scripts: no production dependency
# needs one (protobufjs's only prints a version warning).
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY autoscaler/package.json autoscaler/
COPY device-plugin/package.json device-plugin/
COPY webhook/package.json webhook/

FROM deps AS autoscaler-deps
RUN npm ci --omit=dev --workspace autoscaler --ignore-scripts --no-audit --no-fund
COPY --from=build /out/autoscaler/ autoscaler/

FROM deps AS webhook-deps
# The webhook imports @dilu/autoscaler (a workspace), so both packages' files are needed.
RUN npm ci --omit=dev --workspace webhook --ignore-scripts --no-audit --no-fund
COPY --from=build /out/autoscaler/ autoscaler/
COPY --from=build /out/webhook/ webhook/

FROM deps AS device-plugin-deps
RUN npm ci --omit=dev --workspace device-plugin --ignore-scripts --no-audit --no-fund
COPY --from=build /out/device-plugin/ device-plugin/

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
LABEL org.opencontainers.image.licenses="Apache-2.0"

# The autoscaler Deployment runs as UID/GID 65532 with a read-only root filesystem; the files
# stay root-owned, so the process can read but not change them.
FROM runtime AS autoscaler
LABEL org.opencontainers.image.title="dilu-autoscaler"
COPY --from=autoscaler-deps /app/node_modules/ node_modules/
COPY --from=autoscaler-deps /app/autoscaler/ autoscaler/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/autoscaler/bin/dilu.js"]
CMD ["--help"]

# The webhook Deployment and its certificate Job run as UID/GID 65532, read-only root filesystem.
FROM runtime AS webhook
LABEL org.opencontainers.image.title="dilu-webhook"
COPY --from=webhook-deps /app/node_modules/ node_modules/
COPY --from=webhook-deps /app/autoscaler/ autoscaler/
COPY --from=webhook-deps /app/webhook/ webhook/
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "/app/webhook/bin/dilu-webhook.js"]
CMD ["--help"]

# The device plugin runs as root (decision 0145): it owns the kubelet's device-plugin socket
# directory and the MPS pipe directories under /run/dilu, and starts the MPS control daemons.
# The image carries no NVIDIA software. What the plugin runs, nvidia-smi (GPU inventory and
# health) and nvidia-cuda-mps-control (one daemon per GPU), comes from the node's driver: the
# NVIDIA container toolkit mounts them into the container (runtimeClassName: nvidia,
# NVIDIA_DRIVER_CAPABILITIES=compute,utility in the DaemonSet), matching the driver in use.
FROM runtime AS device-plugin
LABEL org.opencontainers.image.title="dilu-device-plugin"
COPY --from=device-plugin-deps /app/node_modules/ node_modules/
COPY --from=device-plugin-deps /app/device-plugin/ device-plugin/
USER 0:0
EXPOSE 9450 9451
ENTRYPOINT ["node", "/app/device-plugin/bin/dilu-device-plugin.js"]
CMD ["--help"]
