# Sourced by scripts/test: a throw-away redis-server on a free loopback port, no persistence.
# Exports PALISADE_TEST_REDIS_URL for the palisade-session Redis tests (and the session bench).
REDIS_PORT=$(free_port)
mkdir -p "$SERVICE_DIR/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
  --dir "$SERVICE_DIR/redis" --logfile "$SERVICE_DIR/redis/redis.log" &
on_exit_kill $!
for _ in $(seq 1 50); do
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "scripts/services/redis.sh: redis-server did not start; see $SERVICE_DIR/redis/redis.log" >&2
  exit 1
fi
export PALISADE_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
