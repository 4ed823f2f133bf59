# syntax=docker/dockerfile:1
#
# One image for both halves of quorumstore: the node sidecar (`quorumstore node`, what the
# operator's StatefulSets run: command ["quorumstore", "node"]) and the operator
# (`quorumstore operator`, what the Helm chart and manifests/ run: args ["operator"]).
#
#   docker build -t ghcr.io/quorumstore/quorumstore:0.1.0 .
#   kind load docker-image ghcr.io/quorumstore/quorumstore:0.1.0 --name quorumstore
#
# The runtime needs no writable root filesystem: the node writes only under DATA_DIR (the pod's
# volume) and /tmp (an emptyDir); the operator writes nothing. Node.js runs as PID 1 and handles
# SIGTERM itself (both commands shut down gracefully), and neither command starts child processes
# in a pod, so no init (tini) is needed. e2e/test/image.test.ts checks this file statically and
# runs the final stage's file layout (production dependencies only) as uid 10001.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile the TypeScript ----------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency's install script would fetch a second Node.js 24 into
# node_modules; the base image's Node.js 24 builds the same, so its shim is removed too.
RUN npm ci --ignore-scripts --no-audit --no-fund && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
# Sources of the executable only: tsconfig.build.json's other inputs (sidecar/bench, which imports
# test support) are not in the context, so `npm run build` compiles exactly what the image runs.
COPY sidecar/src ./sidecar/src
COPY operator/src ./operator/src
RUN npm run build && chmod 0755 dist/sidecar/src/cli/main.js

# --- deps: production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="quorumstore" \
      org.opencontainers.image.description="Kubernetes-native replicated object store: the node sidecar and the operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/quorumstore/quorumstore" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
# A named user with the numeric id the operator's pods run as (operator/src/builders/security.ts),
# so tools that look the user up find one; no home directory, no login shell.
RUN groupadd --gid 10001 quorumstore \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin quorumstore
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist/sidecar/src ./dist/sidecar/src
COPY --from=build /src/dist/operator/src ./dist/operator/src
# `quorumstore` on PATH, as the operator's StatefulSets call it; Node.js resolves the symlink, so
# the relative imports and package.json lookups of main.js work as from /app.
RUN ln -s /app/dist/sidecar/src/cli/main.js /usr/local/bin/quorumstore \
 && quorumstore version
# Files stay root-owned and read-only for the runtime user.
USER 10001:10001
EXPOSE 8080 7000 2112 8081
ENTRYPOINT ["node", "/app/dist/sidecar/src/cli/main.js"]
CMD ["--help"]
