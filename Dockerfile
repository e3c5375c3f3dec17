# syntax=docker/dockerfile:1
# The Steadfast app image: the `steadfast` CLI of the kit (idp, flaky-api, worker, loadtest,
# demo) with the workspace packages it runs on (steadfast, @steadfast/redis,
# @steadfast/telemetry-node), linked by npm as in the repository.
#   docker build -t steadfast:local .
#   docker run --rm steadfast:local --help
# Its main job is the worker; the HEALTHCHECK probes the worker's /healthz on METRICS_PORT
# (set METRICS_HOST=0.0.0.0 or keep 127.0.0.1: the probe runs inside the container). The
# other commands serve no /healthz there: run them with their own healthcheck (as
# docker-compose.yml does) or with --no-healthcheck.

# ---- build: all dependencies, compile the packages and the kit to their dist/
FROM node:22-bookworm-slim AS build
WORKDIR /app
# The manifests first, so the dependency layer is reused until one of them changes.
COPY package.json package-lock.json ./
COPY packages/steadfast/package.json packages/steadfast/
COPY packages/redis/package.json packages/redis/
COPY packages/telemetry-node/package.json packages/telemetry-node/
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY packages/steadfast/tsconfig.json packages/steadfast/
COPY packages/steadfast/src packages/steadfast/src
COPY packages/redis/tsconfig.json packages/redis/
COPY packages/redis/src packages/redis/src
COPY packages/telemetry-node/tsconfig.json packages/telemetry-node/
COPY packages/telemetry-node/src packages/telemetry-node/src
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies only, the built dist/ of the kit and the packages, non-root
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/steadfast/package.json packages/steadfast/
COPY packages/redis/package.json packages/redis/
COPY packages/telemetry-node/package.json packages/telemetry-node/
# With the workspaces: node_modules/steadfast and node_modules/@steadfast/* link to packages/.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/packages/steadfast/dist ./packages/steadfast/dist
COPY --from=build /app/packages/redis/dist ./packages/redis/dist
COPY --from=build /app/packages/telemetry-node/dist ./packages/telemetry-node/dist
# The base image's unprivileged user (uid 1000).
USER node
# Worker metrics and health (METRICS_PORT), flaky-api, IdP.
EXPOSE 9464 8080 8081
# The worker's liveness: GET /healthz on METRICS_PORT (default 9464).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
