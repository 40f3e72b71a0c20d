# Sourced by every project script: puts the project's pinned tools first on PATH.
# LLAMADUO_TOOLS may point several checkouts at one tools folder; it defaults to <repo>/.tools.
LLAMADUO_ROOT="${LLAMADUO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
LLAMADUO_TOOLS="${LLAMADUO_TOOLS:-$LLAMADUO_ROOT/.tools}"
export LLAMADUO_ROOT LLAMADUO_TOOLS
export PATH="$LLAMADUO_TOOLS/node/bin:$LLAMADUO_TOOLS/bin:$LLAMADUO_ROOT/node_modules/.bin:$PATH"
export TEMPORAL_CLI_PATH="${TEMPORAL_CLI_PATH:-$LLAMADUO_TOOLS/bin/temporal}"
