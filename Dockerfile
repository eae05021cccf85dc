# syntax=docker/dockerfile:1

# Quiver container image.
#   api:    docker run ... quiver                          (default CMD, HTTP on :3000)
#   worker: docker run ... quiver node dist/src/worker.js  (BullMQ worker, no HTTP)

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------
# deps: the full dependency tree (dev dependencies included), cached on the
# lockfile alone so source edits do not reinstall node_modules.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci

# ---------------------------------------------------------------------------
# build: compile TypeScript to dist/, then drop dev dependencies.
# ---------------------------------------------------------------------------
FROM deps AS build
COPY . .
RUN npm run build \
 && test -f dist/src/main.js \
 && test -f dist/src/worker.js
RUN --mount=type=cache,target=/root/.npm \
    npm prune --omit=dev

# ---------------------------------------------------------------------------
# runtime: production dependencies and compiled output only.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    EMBEDDED_DATA_DIR=/app/data \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app

# Application files stay owned by root (read-only for the process); only the
# embedded-database directory, used when DATABASE_URL is unset, is writable.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 3000

# The slim image has no curl: probe liveness with Node's built-in fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health/live',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# --min-semi-space-size: V8 reads it only at start (decision 95; src/runtime/v8-flags.ts).
CMD ["node", "--min-semi-space-size=16", "dist/src/main.js"]
