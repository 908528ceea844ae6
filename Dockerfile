# CPU image of ct-muscle-node: the same install as the README (npm ci), compiled to dist/.
FROM node:20-bookworm-slim AS build
# better-sqlite3 is compiled from source by its install script.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY config ./config
COPY models ./models
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# A font for the overlay caption and the review page's pictures (@napi-rs/canvas draws with it).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY models ./models
COPY bin ./bin
COPY assets ./assets
RUN mkdir -p /app/var && chown node:node /app/var
USER node
# The node listens on loopback by default; in a container bind it to all interfaces and give it credentials:
#   CT_MUSCLE_NODE__SERVER__HOST=0.0.0.0 CT_MUSCLE_NODE__SERVER__CREDENTIALS__BEARER_TOKENS='["…"]'
EXPOSE 8104
ENTRYPOINT ["node", "bin/ct-muscle-node.js"]
CMD ["serve"]
