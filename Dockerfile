# The llamaduo worker image: every worker role (LLAMADUO_QUEUES picks workflow, data, llm, gpu), the codec
# server for the Temporal UI (node dist/codec-server.js) and the CLI (node dist/llamaduo.js).
#   docker build -t ghcr.io/llamaduo/worker:0.1.0 .
# Node is pinned by version; pin it by digest too in your registry with
#   --build-arg NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest>
# Debian (glibc), not Alpine: the Temporal core bridge ships glibc binaries.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# 1. Compile: TypeScript to JavaScript (esbuild) and the workflow bundle (webpack), once, here.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY activities ./activities
COPY cli ./cli
COPY client ./client
COPY common ./common
COPY report ./report
COPY workers ./workers
COPY workflows ./workflows
COPY scripts/build-worker-dist.sh scripts/build-workflow-bundle.ts ./scripts/
RUN bash scripts/build-worker-dist.sh dist

# 2. Production dependencies only (no tsx, TypeScript, eslint, playwright).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: tini as PID 1 forwards SIGTERM to node (whose Temporal runtime drains the workers) and reaps
#    children; a numeric non-root user so that Pod Security "restricted" (runAsNonRoot) can verify it.
FROM ${NODE_IMAGE}
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 10001 llamaduo \
  && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin llamaduo
ENV NODE_ENV=production \
    LLAMADUO_ARTIFACTS=/artifacts \
    LLAMADUO_HOME=/tmp/llamaduo \
    HOME=/tmp
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps"]
CMD ["dist/main.js"]
