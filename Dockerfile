# syntax=docker/dockerfile:1
# The Steadfast app image: the `steadfast` CLI (idp, flaky-api, worker, loadtest, demo).
#   docker build -t steadfast:local .
#   docker run --rm steadfast:local --help

# ---- build: all dependencies, compile TypeScript to dist/
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies only, non-root
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The base image's unprivileged user (uid 1000).
USER node
# Worker metrics and health (METRICS_PORT), flaky-api, IdP.
EXPOSE 9464 8080 8081
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
