# Sourced by ./fanout, ./run-tests and .ci/run: sets FANOUT_JAVA_HOME to a JDK 21 or newer.
# Looks at JAVA_HOME, then the java on PATH, then the usual install folders, newest first.

fanout_java_major() {
  # Prints the feature version of the JDK at $1 (e.g. 25), or nothing when it is not a JDK.
  local home=$1 line
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 0
  line=$("$home/bin/java" -XshowSettings:properties -version 2>&1 | grep -m1 'java.specification.version')
  line=${line##*= }
  case $line in 1.*) echo 8 ;; *) echo "${line%%.*}" ;; esac
}

fanout_find_jdk() {
  local candidates=() c major best="" best_major=0
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    c=$(readlink -f "$(command -v java)")
    candidates+=("${c%/bin/java}")
  fi
  # FANOUT_JDK_DIRS (folders, space-separated) replaces the usual install folders; tests use it.
  local dirs=${FANOUT_JDK_DIRS-/usr/lib/jvm /usr/java /opt/java /opt /Library/Java/JavaVirtualMachines $HOME/.sdkman/candidates/java}
  for d in $dirs; do
    for c in "$d"/* "$d"/*/Contents/Home; do
      [ -d "$c" ] && candidates+=("$c")
    done
  done
  for c in "${candidates[@]}"; do
    major=$(fanout_java_major "$c")
    [ -n "$major" ] || continue
    # JAVA_HOME wins when it is new enough; otherwise take the newest found.
    if [ "$major" -ge 21 ] && [ "$c" = "${JAVA_HOME:-}" ]; then best=$c; break; fi
    if [ "$major" -gt "$best_major" ]; then best=$c; best_major=$major; fi
  done
  if [ -z "$best" ] || [ "$(fanout_java_major "$best")" -lt 21 ]; then
    echo "fanout: no JDK 21 or newer found (looked at JAVA_HOME, the java on PATH, and ${dirs:-no install folders})." >&2
    echo "fanout: install one, e.g. 'apt-get install openjdk-21-jdk' or Temurin 21+, or set JAVA_HOME to it." >&2
    return 1
  fi
  FANOUT_JAVA_HOME=$best
}
