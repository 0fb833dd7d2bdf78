# Operator recipes. Each one calls docker compose or an npm script: logic lives in TypeScript.
# `just` comes with the dev dependencies (the `just` launcher of the scripts workspace): `npx just <recipe>`.

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

# Get an access token for a CLI or script through the device flow (prints JSON on stdout)
mcp-client-token issuer=env_var_or_default("AUTH_ISSUER", "http://localhost:8080") resource="":
    npm run -s client-token -- --issuer {{ issuer }} {{ if resource == "" { "" } else { "--resource " + resource } }}

# List the registered OAuth clients (add --json for machine-readable output)
oauth-list-registrations *flags:
    npm run -s admin -- {{ flags }} clients list

# Make a new signing key; the old ones stay published until their tokens expire
rotate-signing-key:
    npm run -s admin -- keys rotate
