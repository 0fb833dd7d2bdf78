# Operator recipes. Each one calls docker compose or an npm script: logic lives in TypeScript.
# `just` comes with the dev dependencies (npm package rust-just): run `npx just <recipe>`.

set dotenv-load := true

# List the recipes
default:
    @just --list

# Start the compose deployment (Traefik, Redis, auth, the MCP services) in the background
up:
    docker compose up -d

# Stop the compose deployment (volumes are kept)
down:
    docker compose down

# Rebuild the images and restart what changed
rebuild:
    docker compose up -d --build

# Follow the logs of one service, or of all
logs service="":
    docker compose logs -f {{ service }}

# Run the gateway in standalone mode (one process, no Docker)
start:
    npm start

# Serve one catalog service over streamable HTTP (e.g. `just start-service echo`)
start-service name:
    npm run start:service -- {{ name }}

# Format, lint, type-check and run every test
test:
    npm test

# Benchmarks: /verify and the bridge against a bare node:http server
bench:
    npm run bench

# Regenerate traefik/dynamic/services.yml from the service catalog
generate-traefik-routes:
    npx node scripts/generate-traefik-routes.ts
