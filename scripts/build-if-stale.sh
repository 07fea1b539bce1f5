# Sourced by ./fanout and ./bench: builds a module's jar when it is missing or older than any
# source, pom or resource of the repository, and prints only Maven's errors when the build fails.

# Usage: fanout_build_if_stale NAME JAR MODULE (NAME prefixes the messages, e.g. "fanout").
fanout_build_if_stale() {
  local name=$1 jar=$2 module=$3 root log
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ -f "$jar" ] && [ -z "$(find "$root" -path "$root/*/target" -prune -o \( -name '*.java' -o -name 'pom.xml' -o -path '*/src/main/resources/*' \) -newer "$jar" -print -quit)" ]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || { echo "$name: building needs Maven ('mvn') on PATH" >&2; return 1; }
  echo "$name: building the jar (first run, or the sources changed)..." >&2
  log=$(mktemp "${TMPDIR:-/tmp}/$name-build.XXXXXX")
  if ! (cd "$root" && mvn -B -DskipTests -Dspotless.check.skip=true -pl "$module" -am package) >"$log" 2>&1; then
    grep -E '\[(ERROR|WARNING)\]' "$log" | head -40 >&2
    echo "$name: the build failed; the whole Maven output is in $log" >&2
    return 1
  fi
  rm -f "$log"
}
