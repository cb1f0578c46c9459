# The controller image for manifests/overlays/primary (image: rollout-relay:0.1.0).
# Not built by the tests (no registry is reachable from the test machines); build and push it yourself:
#   docker build -t registry.example.com/rollout-relay:0.1.0 .
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npx tsc -p tsconfig.build.json && node scripts/post-build.mjs && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# Matches the Deployment's runAsUser; the root filesystem is mounted read-only there.
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/cli/bin.js"]
CMD ["controller", "--config", "/etc/rollout-relay/relay.yaml"]
