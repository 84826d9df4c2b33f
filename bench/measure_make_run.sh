#!/usr/bin/env bash
# From a fresh clone to the first answers of `make run` (issue 17): times `make install` (what
# `make run` installs: the service's dependencies only, in a new .venv), checks that no test tool
# and no Ray came with it, then starts `make run` and times the first /livez, /readyz and
# POST /v1/lemmatize answers.
#
#   bash bench/measure_make_run.sh [REPO] [PORT]      # REPO: a path or URL git can clone (default: .)
#
# The pip cache is whatever the machine has (warm on a developer's machine): say so with the numbers.
set -u
REPO=$(cd "${1:-.}" && pwd) PORT=${2:-8765}
DIR=$(mktemp -d /tmp/lexiflow-fresh.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
git clone -q "$REPO" "$DIR/clone" && cd "$DIR/clone" || exit 1
echo "commit $(git log --oneline -1); load $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
( time make install >"$DIR/install.log" 2>&1 ) 2>&1 | grep -E "real|user|sys"
echo "make install: $(echo "$(date +%s.%N) - $start" | bc) s wall"
extra=$(.venv/bin/python -m pip list 2>/dev/null | grep -i -E "^(pytest|ray|locust|selenium|schemathesis|hypothesis|import-linter) " || true)
[ -z "$extra" ] && echo "no test tool and no Ray installed" || echo "UNEXPECTED: $extra"
echo "venv: $(du -sh .venv | cut -f1), $(.venv/bin/python -m pip list 2>/dev/null | tail -n +3 | wc -l) packages"
start=$(date +%s.%N)
LEXIFLOW_PORT=$PORT setsid make run >"$DIR/run.log" 2>&1 &
RUN=$!
livez=""
for _ in $(seq 1 2400); do
  if [ -z "$livez" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/livez")" = 200 ]; then
    livez=1; echo "first answer (GET /livez 200): $(echo "$(date +%s.%N) - $start" | bc) s"; fi
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; then
    echo "models loaded (GET /readyz 200): $(echo "$(date +%s.%N) - $start" | bc) s"; break; fi
  sleep 0.25
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/lemmatize" \
       -H 'Content-Type: application/json' -d '{"text": "The striped bats ate best fishes."}')
echo "first POST /v1/lemmatize ($code): $(echo "$(date +%s.%N) - $start" | bc) s"
kill -TERM -- -"$RUN" 2>/dev/null; sleep 3; kill -KILL -- -"$RUN" 2>/dev/null
exit 0
