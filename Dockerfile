# syntax=docker/dockerfile:1
# Node 20 is past end of life: the image runs a maintained LTS line; the code runs on 20 and 22.
# An exact release, so a rebuild gets the same Node and Debian; raise it deliberately. To pin the
# bytes too, append the digest: `docker buildx imagetools inspect node:22.22.0-bookworm-slim`
# prints it; then NODE_IMAGE=node:22.22.0-bookworm-slim@sha256:<digest>.
ARG NODE_IMAGE=node:22.22.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# A heap bound far above what a sync keeps alive (15-25 MB): with it V8 collects when the old
# generation has grown ~1.4 times, not 4 times; and a young generation of 8 MB semispaces instead
# of 16. A fast run then peaks at ~125-140 MB RSS instead of ~210-230 MB, at the same speed
# (BENCHMARKS.md, memory). Override with -e NODE_OPTIONS=... if you must.
ENV NODE_OPTIONS="--max-old-space-size=512 --max-semi-space-size=8"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# The embedded database (used only when DATABASE_URL is unset) lives in /app/data, owned by the
# app user. No VOLUME here: it would make an anonymous volume on every run, DATABASE_URL or not.
# With the embedded database, mount one: docker run -v metaaccess-data:/app/data ...
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# Node is PID 1 here: the CLI handles SIGTERM/SIGINT itself (stop after the page in flight).
ENTRYPOINT ["node", "dist/cli.js"]
EXPOSE 9464
# For the default `schedule` command (/healthz on HTTP_PORT). The image has no curl or wget: Node's
# fetch does the check. One-off commands (`docker run ... sync`) should pass --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["schedule"]
