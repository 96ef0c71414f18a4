#!/usr/bin/env bash
# Refresh the API documentation pages' assets from the npm registry, so /docs (Swagger UI) and /redoc (ReDoc)
# load with no internet: the node serves them from services/api/static/docs/, licences beside them.
#
#   bash infra/vendor-docs-ui.sh [SWAGGER_UI_DIST_VERSION] [REDOC_VERSION]     (or: make vendor-docs-ui)
#
# `npm pack` downloads the published tarballs without running any install script (swagger-ui-dist's telemetry
# dependency is never installed). VENDORED.md records the versions, the tarballs' integrity and each file's sha256.
set -euo pipefail
SWAGGER_UI=${1:-5.35.0}
REDOC=${2:-2.5.4}
cd "$(dirname "$0")/.."
dest=services/api/static/docs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "swagger-ui-dist@$SWAGGER_UI" "redoc@$REDOC" >/dev/null)
mkdir -p "$tmp/swagger-ui" "$tmp/redoc"
tar xzf "$tmp/swagger-ui-dist-$SWAGGER_UI.tgz" -C "$tmp/swagger-ui"
tar xzf "$tmp/redoc-$REDOC.tgz" -C "$tmp/redoc"

rm -rf "$dest"
mkdir -p "$dest/swagger-ui" "$dest/redoc"
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
  cp "$tmp/swagger-ui/package/$f" "$dest/swagger-ui/$f"
done
for f in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
  cp "$tmp/redoc/package/$f" "$dest/redoc/$(basename "$f")"
done
# The one patch: ReDoc's "API docs by Redocly" attribution loads its logo from cdn.redoc.ly on every page view (no
# option turns it off). An empty src makes no request; the image's onError hides it; the attribution text stays.
logo='https://cdn.redoc.ly/redoc/logo-mini.svg'
[ "$(grep -o "$logo" "$dest/redoc/redoc.standalone.js" | wc -l)" = 1 ] || { echo "ReDoc's logo URL moved: review the patch" >&2; exit 1; }
sed -i "s#\"$logo\"#\"\"#" "$dest/redoc/redoc.standalone.js"
! grep -q "$logo" "$dest/redoc/redoc.standalone.js"

integrity() { npm view "$1" dist.integrity 2>/dev/null || echo "(not recorded)"; }
{
  echo "# Vendored documentation assets"
  echo
  echo "Served by the node at \`/docs-assets/\` for \`/docs\` (Swagger UI) and \`/redoc\` (ReDoc), so both pages work"
  echo "without internet. Refresh with \`bash infra/vendor-docs-ui.sh [SWAGGER_UI_DIST_VERSION] [REDOC_VERSION]\`."
  echo
  echo "| package | version | licence | npm integrity |"
  echo "|---|---|---|---|"
  echo "| swagger-ui-dist | $SWAGGER_UI | Apache-2.0 (\`swagger-ui/LICENSE\`, \`NOTICE\`) | \`$(integrity "swagger-ui-dist@$SWAGGER_UI")\` |"
  echo "| redoc | $REDOC | MIT (\`redoc/LICENSE\`) | \`$(integrity "redoc@$REDOC")\` |"
  echo
  echo "The bundles' third-party notices are in the \`*.LICENSE.txt\` files beside them. One patch, applied by the"
  echo "script: \`redoc.standalone.js\` no longer loads the Redocly attribution logo from \`cdn.redoc.ly\` (its \`src\`"
  echo "is empty; the text \"API docs by Redocly\" and its link stay)."
  echo
  echo "| file | sha256 |"
  echo "|---|---|"
  (cd "$dest" && find . -type f ! -name VENDORED.md | sort | while read -r f; do
    echo "| \`${f#./}\` | \`$(sha256sum "$f" | cut -d' ' -f1)\` |"
  done)
} > "$dest/VENDORED.md"
echo "vendored swagger-ui-dist $SWAGGER_UI and redoc $REDOC into $dest"
