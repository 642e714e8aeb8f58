#!/usr/bin/env bash
# Checks that the build is reproducible: clones the current commit twice, into two folders of
# different names, packages each (tests skipped) one after the other, and compares every jar the
# two builds made, byte for byte. Prints one line per jar; exits 1 when any differs.
#
#   scripts/reproducible.sh [WORKDIR]    (default: a new folder under ${TMPDIR:-/tmp})
#
# Environment: MVN (default mvn; ./mvnw works too), MVN_ARGS (default "-B -ntp -q"; add -o
# to build offline). Same JDK for both builds: jars built on another JDK differ in their classes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/bittensor-reproducible.XXXXXX")}
mvn=${MVN:-mvn}
read -r -a args <<< "${MVN_ARGS:--B -ntp -q}"
commit=$(git -C "$root" rev-parse HEAD)

for build in first second-build; do
  rm -rf "${work:?}/$build"
  git clone -q "$root" "$work/$build"
  git -C "$work/$build" checkout -q "$commit"
  echo "building $commit in $work/$build" >&2
  (cd "$work/$build" && "$mvn" "${args[@]}" package -DskipTests)
done

status=0
jars=$(cd "$work/first" && find . -path '*/target/*.jar' -not -path '*/it-repo/*' | sort)
[ -n "$jars" ] || { echo "reproducible.sh: the build made no jars" >&2; exit 2; }
for jar in $jars; do
  if [ ! -f "$work/second-build/$jar" ]; then
    echo "MISSING $jar"
    status=1
  elif cmp -s "$work/first/$jar" "$work/second-build/$jar"; then
    echo "same    $jar $(sha256sum "$work/first/$jar" | cut -c1-16)"
  else
    echo "DIFFERS $jar"
    status=1
  fi
done
exit $status
