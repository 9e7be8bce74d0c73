# Sourced by scripts/test: starts rsyslogd (no fork, own config/pid/work directory under
# $SERVICE_DIR) listening for RFC 5424 over TCP on a free loopback port, writing every message
# to a file. Exports PALISADE_RSYSLOG_ADDR (host:port) and PALISADE_RSYSLOG_OUT (the file), read
# by crates/palisade-audit/tests/syslog_rsyslog.rs.
if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; then
  RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
  rs_dir="$SERVICE_DIR/rsyslog"
  mkdir -p "$rs_dir/work"
  rs_port=$(free_port)
  rs_out="$rs_dir/messages.log"
  cat >"$rs_dir/rsyslog.conf" <<CONF
global(workDirectory="$rs_dir/work")
module(load="imtcp")
input(type="imtcp" port="$rs_port" address="127.0.0.1")
template(name="palisadeAudit" type="string"
         string="%timereported:::date-rfc3339%|%hostname%|%app-name%|%msgid%|%pri%|%structured-data%|%msg%\n")
*.* action(type="omfile" file="$rs_out" template="palisadeAudit")
CONF
  "$RSYSLOGD" -n -f "$rs_dir/rsyslog.conf" -i "$rs_dir/rsyslogd.pid" >"$rs_dir/rsyslogd.log" 2>&1 &
  on_exit_kill $!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$rs_port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  export PALISADE_RSYSLOG_ADDR="127.0.0.1:$rs_port"
  export PALISADE_RSYSLOG_OUT="$rs_out"
  echo "scripts/test: rsyslogd on $PALISADE_RSYSLOG_ADDR writing $PALISADE_RSYSLOG_OUT"
else
  echo "scripts/test: rsyslogd not installed; the rsyslog test will fail under CI=true" >&2
fi
