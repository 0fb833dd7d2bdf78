# Operator recipes. Each one calls docker compose, the admin CLI or an npm script: logic lives in
# TypeScript (`auth/src/cli/`, `auth/src/admin/`). `just` comes with the dev dependencies (the
# `just` launcher of the scripts workspace): `npx just <recipe>`. Admin recipes take the CLI's
# options after the recipe name, e.g. `npx just oauth-list-tokens --user octocat --json`.

set dotenv-load := true

# The admin CLI with the project's Node and this recipe's environment: just has read .env already
# (or the file `--dotenv-path` names), so the CLI reads no other.
admin-cli := "./node_modules/.bin/node auth/src/cli/main.ts"

# Where the store commands run: on this machine against the Redis that REDIS_URL names (standalone
# with Redis, tests), else in the compose deployment's one-off admin container, since the compose
# Redis is reachable from its own network only. The backup recipes make `backups` first: a folder
# the admin container's mount created would belong to root.
store-admin := if env("REDIS_URL", "") != "" { admin-cli } else { "docker compose run --rm admin" }

# List the recipes
default:
    @just --list

# Write the missing secrets (Redis password, signing key, bridge and internal API secrets, metrics token) into .env, never overwriting one
[group('setup')]
generate-all-secrets *flags:
    {{ admin-cli }} secrets {{ flags }}

# Write a pinned signing key (JWT_PRIVATE_KEY_B64) into .env unless one is set: EC P-256 (ES256), despite the recipe's old name
[group('setup')]
generate-rsa-keys *flags:
    {{ admin-cli }} secrets JWT_PRIVATE_KEY_B64 {{ flags }}

# Write a Redis password (REDIS_PASSWORD) into .env unless one is set
[group('setup')]
generate-redis-password *flags:
    {{ admin-cli }} secrets REDIS_PASSWORD {{ flags }}

# Start the compose deployment (Traefik, Redis, auth, the MCP services) in the background
[group('deployment')]
up:
    docker compose up -d

# Stop the compose deployment (volumes are kept)
[group('deployment')]
down:
    docker compose down

# Pull the current Traefik and Redis images of their tags, rebuild ours, restart what changed
[group('deployment')]
rebuild:
    docker compose pull --ignore-buildable
    docker compose up -d --build

# Follow the logs of one service, or of all
[group('deployment')]
logs service="":
    docker compose logs -f {{ service }}

# Check the gateway from outside: /health, /ready, metadata, the signing key, each service (--url to override AUTH_ISSUER)
[group('deployment')]
check-health *flags:
    {{ admin-cli }} health {{ flags }}

# Run the gateway in standalone mode (one process, no Docker)
[group('development')]
start:
    npm start

# Serve one catalog service over streamable HTTP (e.g. `just start-service echo`)
[group('development')]
start-service name:
    npm run start:service -- {{ name }}

# Format, lint, type-check and run every test
[group('development')]
test:
    npm test

# Every benchmark, each against its bare baseline in the same run (`npm run bench -- --only verify,token` for some)
[group('development')]
bench:
    npm run bench

# Regenerate traefik/dynamic/services.yml from the service catalog
[group('development')]
generate-traefik-routes:
    npx node scripts/generate-traefik-routes.ts

# Get an access token for a CLI or script through the device flow (prints JSON on stdout); the issuer defaults to the gateway's own (AUTH_ISSUER, https://auth.$BASE_DOMAIN or http://localhost:$PORT)
[group('clients and tokens')]
mcp-client-token issuer="" resource="":
    npm run -s client-token -- {{ if issuer == "" { "" } else { "--issuer " + issuer } }} {{ if resource == "" { "" } else { "--resource " + resource } }}

# List the registered OAuth clients (add --json for machine-readable output)
[group('clients and tokens')]
oauth-list-registrations *flags:
    {{ store-admin }} clients list {{ flags }}

# Show one registration (metadata, lifetime, token families; no secrets)
[group('clients and tokens')]
oauth-show-registration client_id *flags:
    {{ store-admin }} clients show {{ client_id }} {{ flags }}

# Delete a registration
[group('clients and tokens')]
oauth-delete-registration client_id *flags:
    {{ store-admin }} clients delete {{ client_id }} {{ flags }}

# How many registrations, used and never used, in total and by client name
[group('clients and tokens')]
oauth-count-registrations *flags:
    {{ store-admin }} clients count {{ flags }}

# The clients a user consented to (the user's GitHub id, or their login while they hold tokens, as for `oauth-list-tokens --user`)
[group('clients and tokens')]
oauth-list-consents user *flags:
    {{ store-admin }} consents list {{ user }} {{ flags }}

# Withdraw a user's consent to a client and revoke the tokens it led to (recorded with by: admin)
[group('clients and tokens')]
oauth-revoke-consent user client_id *flags:
    {{ store-admin }} consents revoke {{ user }} {{ client_id }} {{ flags }}

# List live token families: user, client, scopes, dates (--user, --client, --family filter; never token values)
[group('clients and tokens')]
oauth-list-tokens *flags:
    {{ store-admin }} tokens list {{ flags }}

# Revoke tokens: --user <id|login>, --client <client-id> or --family <id>; /verify refuses them at once
[group('clients and tokens')]
oauth-revoke-tokens +flags:
    {{ store-admin }} tokens revoke {{ flags }}

# Drop index entries that point at expired state, and say what went
[group('clients and tokens')]
oauth-purge-expired *flags:
    {{ store-admin }} purge-expired {{ flags }}

# Show the newest audit events kept in Redis (--user, --client, --event, --since 12h, --limit, --json)
[group('clients and tokens')]
audit *flags:
    {{ store-admin }} audit {{ flags }}

# Make a new signing key; every replica signs with it within a minute, and the old ones stay published while their tokens live
[group('clients and tokens')]
rotate-signing-key *flags:
    {{ store-admin }} keys rotate {{ flags }}

# Back up clients, consents, live tokens and signing keys (default backups/gateway-<time>.json, mode 0600)
[group('backups')]
oauth-backup *args:
    @mkdir -p backups
    {{ store-admin }} backup {{ args }}

# List the backups in backups/ (--dir for another directory)
[group('backups')]
oauth-backup-list *flags:
    @mkdir -p backups
    {{ store-admin }} backup list {{ flags }}

# Show what a backup holds (default the newest): names, ids and dates, no secrets
[group('backups')]
oauth-backup-view *args:
    @mkdir -p backups
    {{ store-admin }} backup view {{ args }}

# Restore a backup (default the newest): writes only what is absent; --force for another issuer's
[group('backups')]
oauth-restore *args:
    @mkdir -p backups
    {{ store-admin }} restore {{ args }}
