# Sourced by scripts/test: initializes a fresh SoftHSM2 token for palisade-keys' PKCS#11 tests.
# Exports PALISADE_PKCS11_MODULE, PALISADE_PKCS11_TOKEN, PALISADE_PKCS11_PIN and SOFTHSM2_CONF.
softhsm_module=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
  [ -e "$m" ] && softhsm_module="$m" && break
done
if [ -n "$softhsm_module" ] && command -v softhsm2-util >/dev/null; then
  mkdir -p "$SERVICE_DIR/softhsm/tokens"
  export SOFTHSM2_CONF="$SERVICE_DIR/softhsm/softhsm2.conf"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$SERVICE_DIR/softhsm/tokens" >"$SOFTHSM2_CONF"
  PALISADE_PKCS11_PIN=$(python3 -c 'import secrets; print(secrets.token_hex(8))')
  softhsm2-util --init-token --free --label palisade-test --so-pin "so-$PALISADE_PKCS11_PIN" \
    --pin "$PALISADE_PKCS11_PIN" >/dev/null
  export PALISADE_PKCS11_MODULE="$softhsm_module" PALISADE_PKCS11_TOKEN=palisade-test PALISADE_PKCS11_PIN
else
  echo "scripts/services/softhsm.sh: softhsm2 is not installed; PKCS#11 tests will skip (or fail under CI)" >&2
fi
