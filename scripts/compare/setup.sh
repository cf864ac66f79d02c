# Sourced by scripts/compare-*.sh: stops on the first error, works from the repository root,
# builds the release binary and names it $bin, and makes a scratch directory $work (each script
# sets its own trap to remove it and stop what it started).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
swift build -c release --product commerce-etl >/dev/null
bin="$(swift build -c release --show-bin-path)/commerce-etl"
work="$(mktemp -d)"
