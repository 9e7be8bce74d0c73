# Sourced by scripts/test. Starts a real OpenID Provider (the `oidc-provider` npm package, pinned
# by crates/palisade-oauth/tests/provider/package-lock.json) on a free loopback port for
# palisade-oauth's integration tests, and exports its issuer URL as PALISADE_OIDC_ISSUER.
# The provider binds port 0 itself and reports the port it got, so there is no port race.
oidc_dir=crates/palisade-oauth/tests/provider
(cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
oidc_issuer_file="$SERVICE_DIR/oidc-issuer"
ISSUER_FILE="$oidc_issuer_file" node "$oidc_dir/provider.mjs" >"$SERVICE_DIR/oidc-provider.log" 2>&1 &
on_exit_kill $!
for _ in $(seq 1 200); do
  [ -s "$oidc_issuer_file" ] && break
  sleep 0.1
done
if [ ! -s "$oidc_issuer_file" ]; then
  echo "scripts/services/oidc-provider.sh: the OpenID Provider did not start:" >&2
  cat "$SERVICE_DIR/oidc-provider.log" >&2
  exit 1
fi
PALISADE_OIDC_ISSUER=$(cat "$oidc_issuer_file")
export PALISADE_OIDC_ISSUER
echo "scripts/test: oidc-provider at $PALISADE_OIDC_ISSUER"
