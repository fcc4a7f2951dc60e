# syntax=docker/dockerfile:1
# Budget Gateway: build with dev dependencies, run with production ones only.
#   docker build -t budget-gateway .
#   docker run -p 4000:4000 -v bg-data:/data budget-gateway     # embedded database in /data
#   docker run -p 4000:4000 -e DATABASE_URL=postgres://… budget-gateway

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The sources .dockerignore lets through: src, migrations, scripts, bench (when present), test/fixtures, schema, tsconfigs.
COPY . .
# Compiles src, migrations, scripts, bench and test/fixtures into dist/, emits schema/schema.graphql,
# and builds the web console (console/, vite) into dist/console, which the server serves at /console.
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=4000 HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install hooks are needed at run time; the cache is dropped to keep the layer small.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/schema ./schema
COPY examples ./examples
# The embedded database (used when DATABASE_URL is unset) lives in /data, owned by the runtime user.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# Not `npm start`: its prestart hook builds, which needs the dev dependencies this image lacks.
# Migrations are applied at start; `node dist/scripts/migrate.js` and
# `node dist/scripts/budgets-apply.js FILE` run the same way (docker compose run server node …).
CMD ["node", "dist/src/main.js"]
