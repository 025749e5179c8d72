#!/usr/bin/env bash
# Run Prism, a mock server generated from the vendor's OpenAPI document, for the
# contract tests in tests/contract/.
#
# Usage (from the repository root or anywhere else):
#
#   source .ci/prism.sh start [PORT]   install Prism if needed, start it, wait until it
#                                      answers, and export VIDEOAPI_PRISM_URL
#   .ci/prism.sh start [PORT]          the same, but print the URL instead of exporting it:
#                                      export VIDEOAPI_PRISM_URL="$(.ci/prism.sh start)"
#   .ci/prism.sh stop                  stop the Prism that `start` started (no-op if none)
#   .ci/prism.sh url                   print the URL of the running Prism
#   .ci/prism.sh install               only install Prism
#
# Then:
#
#   VIDEOAPI_REQUIRE_PRISM=1 .venv/bin/pytest tests/contract
#
# PORT defaults to $PRISM_PORT, else to a free port on 127.0.0.1. Prism serves the
# document's paths at the root (it ignores the document's relative server URL
# "/api/v1"), so the URL is plain http://127.0.0.1:PORT and the client's base_url is
# that URL. Everything lives in .ci/prism/ (node_modules, pid file, prism.log), which
# is not tracked by git.
#
# Settings (environment):
#   PRISM_VERSION        the @stoplight/prism-cli version to install (default below).
#                        5.14.2 is the newest release whose package declares support
#                        for Node.js 20; 5.15+ declare Node.js >= 24.
#   PRISM_PORT           the port to listen on (an argument to `start` wins).
#   PRISM_SEED           passed as --seed, making responses that do not ask for their
#                        own seed deterministic. The contract tests send a seed with
#                        every request (header "Prefer: seed=..."), so they do not
#                        need it.
#   PRISM_LOG_LEVEL      Prism's --verboseLevel (default silent; see start() for why
#                        info is risky). Start-up errors reach prism.log at any level.
#   PRISM_START_TIMEOUT  seconds to wait for Prism to answer (default 60).
#
# Needs Node.js (>= 18.20) and npm; the npm registry is the only network it uses.

_videoapi_prism() (
    set -euo pipefail

    local here root dir bin log pidfile urlfile version doc
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    root="$(dirname "$here")"
    dir="$here/prism"
    bin="$dir/node_modules/.bin/prism"
    log="$dir/prism.log"
    pidfile="$dir/prism.pid"
    urlfile="$dir/prism.url"
    version="${PRISM_VERSION:-5.14.2}"
    doc="$root/tests/hourone-openapi.json"

    say() { printf 'prism.sh: %s\n' "$*" >&2; }

    alive() {
        # kill -0 also succeeds for a zombie; /proc tells them apart.
        kill -0 "$1" 2>/dev/null || return 1
        [[ ! -r "/proc/$1/stat" ]] || [[ "$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat")" != Z ]]
    }

    running() {
        [[ -f "$pidfile" ]] && alive "$(cat "$pidfile")"
    }

    do_install() {
        command -v node >/dev/null || { say "Node.js is required (apt-get install nodejs npm)"; return 1; }
        command -v npm >/dev/null || { say "npm is required (apt-get install npm)"; return 1; }
        if [[ -x "$bin" && "$("$bin" --version 2>/dev/null)" == "$version" ]]; then
            return 0
        fi
        say "installing @stoplight/prism-cli@$version into ${dir#"$root"/}"
        mkdir -p "$dir"
        # --ignore-scripts: Prism needs no install scripts; one dependency's only
        # script sends install analytics.
        SCARF_ANALYTICS=false npm install --prefix "$dir" --no-save --no-package-lock \
            --ignore-scripts --no-audit --no-fund --engine-strict=false --loglevel=error \
            "@stoplight/prism-cli@$version" >&2
        [[ "$("$bin" --version)" == "$version" ]] || { say "installed Prism reports another version"; return 1; }
    }

    free_port() {
        # Prints a port that is free on 127.0.0.1 ($1, or any if $1 is 0); fails if $1 is taken.
        node -e 'const s = require("net").createServer();
                 s.on("error", () => process.exit(1));
                 s.listen(Number(process.argv[1]), "127.0.0.1",
                          () => { console.log(s.address().port); s.close(); });' "$1"
    }

    answers() {
        # 200 on GET /videos with a key means the document is loaded and routes work.
        node -e 'fetch(process.argv[1] + "/videos", {headers: {"api-key": "probe"}})
                   .then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));' "$1"
    }

    start() {
        if running; then
            say "already running (pid $(cat "$pidfile"))"
            cat "$urlfile"
            return 0
        fi
        do_install
        local wanted="${1:-${PRISM_PORT:-0}}" port
        port="$(free_port "$wanted")" || { say "port $wanted on 127.0.0.1 is already in use"; return 1; }
        local url="http://127.0.0.1:$port"
        # Quiet by default: Prism passes each log line through a JSON "repair" step that
        # garbles lines quoting some request bodies, and a garbled line can crash it
        # (TypeError in its log formatter). Violations still reach the tests through the
        # sl-violations header.
        local args=(mock --dynamic --host 127.0.0.1 --port "$port" --cors=false
            --verboseLevel "${PRISM_LOG_LEVEL:-silent}" "$doc")
        [[ -z "${PRISM_SEED:-}" ]] || args+=(--seed "$PRISM_SEED")
        # Detached (own session, no terminal, output to the log) so it outlives this
        # script and does not hold a caller's $(...) open.
        setsid "$bin" "${args[@]}" >"$log" 2>&1 </dev/null &
        local pid=$!
        echo "$pid" >"$pidfile"
        echo "$url" >"$urlfile"
        local deadline=$((SECONDS + ${PRISM_START_TIMEOUT:-60}))
        until alive "$pid" && answers "$url"; do
            if ! alive "$pid"; then
                say "Prism exited during start-up; its log:"
                tail -n 30 "$log" >&2 || true
                rm -f "$pidfile" "$urlfile"
                return 1
            fi
            if ((SECONDS >= deadline)); then
                say "Prism did not answer on $url within ${PRISM_START_TIMEOUT:-60} s; its log:"
                tail -n 30 "$log" >&2 || true
                stop
                return 1
            fi
            sleep 0.3
        done
        say "Prism $version (pid $pid) is serving tests/hourone-openapi.json on $url"
        echo "$url"
    }

    stop() {
        if ! running; then
            rm -f "$pidfile" "$urlfile"
            return 0
        fi
        local pid
        pid="$(cat "$pidfile")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile" "$urlfile"
        say "stopped Prism (pid $pid)"
    }

    case "${1:-}" in
        start) shift; start "$@" ;;
        stop) stop ;;
        url) running && cat "$urlfile" ;;
        install) do_install ;;
        *)
            say "usage: source .ci/prism.sh start [PORT] | .ci/prism.sh {start [PORT]|stop|url|install}"
            return 2
            ;;
    esac
)

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: export the URL into the caller's shell without changing its options.
    if [[ "${1:-}" == "start" ]]; then
        if VIDEOAPI_PRISM_URL="$(_videoapi_prism "$@")"; then
            export VIDEOAPI_PRISM_URL
            unset -f _videoapi_prism
        else
            unset -f _videoapi_prism
            unset VIDEOAPI_PRISM_URL
            return 1
        fi
    else
        _videoapi_prism "$@"
        set -- "$?"
        unset -f _videoapi_prism
        return "$1"
    fi
else
    _videoapi_prism "$@"
fi
