#!/usr/bin/env bash
# Installs the system tools Steadfast needs, only those that are missing: safe to run again.
#
#   bash scripts/prereqs.sh            what `npm test` needs (the default profile, `test`)
#   bash scripts/prereqs.sh demo       what `npm run demo` needs: redis-server, so the demo's
#                                      workers share one token (without it they fall back to
#                                      in-memory tokens, with a warning)
#   bash scripts/prereqs.sh --check    install nothing; exit 1 naming what is missing
#
# Debian and Ubuntu: apt-get, as root or through sudo (apt-get update runs once, and only
# when something is missing). macOS: Homebrew. Anywhere else, or without root, sudo or brew:
# it prints what to install and exits 1. Node.js >= 20.19 with npm is needed first; this
# script checks it but does not install it.
set -euo pipefail

profile=test
check_only=false
for arg in "$@"; do
  case "$arg" in
    test | demo) profile="$arg" ;;
    --check) check_only=true ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "prereqs: unknown argument \"$arg\" (expected: test, demo, --check)" >&2
      exit 2
      ;;
  esac
done

say() { echo "prereqs: $*"; }

# Node.js first: nothing below helps without it, and distributions ship older versions.
node_ok=false
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    node_ok=true
  fi
fi
if [ "$node_ok" != true ]; then
  say "Node.js >= 20.19 with npm is required (found: $(node --version 2>/dev/null || echo none))."
  say "Install it from https://nodejs.org/en/download (or nvm, or NodeSource's Debian packages), then run this again."
  exit 1
fi

# STEADFAST_OS_RELEASE: another os-release file, for the script's own tests.
os_release="${STEADFAST_OS_RELEASE:-/etc/os-release}"
os=other
if [ "$(uname -s)" = Darwin ]; then
  os=macos
elif [ -r "$os_release" ] && grep -Eqi '^(ID|ID_LIKE)=.*(debian|ubuntu)' "$os_release"; then
  os=debian
fi
ubuntu=false
if [ -r "$os_release" ] && grep -qi '^ID=ubuntu' "$os_release"; then ubuntu=true; fi

# The tools of each profile.
case "$profile" in
  demo) tools=(redis-server) ;;
  test) tools=(redis-server redis-cli prometheus promtool docker-compose openssl chromium) ;;
esac

# Is a tool there? Chromium is looked for where the tests look for it.
have() {
  case "$1" in
    chromium)
      [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] ||
        [ -x /Applications/Chromium.app/Contents/MacOS/Chromium ]
      ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# The package that provides a tool, per package manager.
debian_package() {
  case "$1" in
    redis-server) echo redis-server ;;
    redis-cli) echo redis-tools ;;
    prometheus | promtool) echo prometheus ;;
    docker-compose) echo docker-compose ;;
    openssl) echo openssl ;;
    chromium) if [ "$ubuntu" = true ]; then echo chromium-browser; else echo chromium; fi ;;
  esac
}
brew_package() {
  case "$1" in
    redis-server | redis-cli) echo redis ;;
    prometheus | promtool) echo prometheus ;;
    docker-compose) echo docker-compose ;;
    openssl) echo openssl@3 ;;
    chromium) echo --cask chromium ;;
  esac
}

missing_tools() {
  local tool
  for tool in "${tools[@]}"; do have "$tool" || echo "$tool"; done
}

# The packages that provide `$@`, each once.
packages_for() {
  local manager="$1" tool
  shift
  for tool in "$@"; do "${manager}_package" "$tool"; done | awk '!seen[$0]++'
}

mapfile -t missing < <(missing_tools)
if [ "${#missing[@]}" -eq 0 ]; then
  say "everything the $profile profile needs is installed (${tools[*]})"
  exit 0
fi

explain() {
  say "missing for the $profile profile: ${missing[*]}"
  say "Debian/Ubuntu: apt-get install $(packages_for debian "${missing[@]}" | paste -sd ' ' -)"
  say "macOS (Homebrew): $(packages_for brew "${missing[@]}" | sed 's/^/brew install /' | paste -sd ';' - | sed 's/;/; /g')"
}

if [ "$check_only" = true ]; then
  explain
  exit 1
fi

case "$os" in
  debian)
    if [ "$(id -u)" -eq 0 ]; then
      as_root=()
    elif command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      say "not root and no sudo: cannot install."
      explain
      exit 1
    fi
    mapfile -t packages < <(packages_for debian "${missing[@]}")
    say "installing ${packages[*]} (apt-get)"
    # (Debian's prometheus package also starts a service on :9090 where systemd runs; the
    # tests start their own Prometheus on free ports and do not need it.)
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${packages[@]}"
    ;;
  macos)
    if ! command -v brew >/dev/null 2>&1; then
      say "Homebrew is not installed (https://brew.sh): cannot install."
      explain
      exit 1
    fi
    while read -r package; do
      say "installing $package (brew)"
      # shellcheck disable=SC2086 # "--cask chromium" is two words
      brew install $package
    done < <(packages_for brew "${missing[@]}")
    ;;
  *)
    say "no supported package manager on this system: install these yourself."
    explain
    exit 1
    ;;
esac

mapfile -t missing < <(missing_tools)
if [ "${#missing[@]}" -gt 0 ]; then
  say "still missing after the install:"
  explain
  exit 1
fi
say "installed; everything the $profile profile needs is there"
