# Sourced by scripts/ensure-*.sh, not run on its own.

# apt_install_quietly PACKAGE...
# Installs Debian packages without starting their services: postinst scripts would start
# PostgreSQL on 5432, nginx on 80, Caddy and Prometheus, and the tests run their own. A
# policy-rc.d that answers 101 tells invoke-rc.d not to start anything; where systemd does run,
# the packages' services are disabled afterwards so they do not hold ports either.
apt_install_quietly() {
  local own_policy=0 status=0 package
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  {
    apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "$@" >/dev/null
  } || status=$?
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$status" = 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for package in "$@"; do
      case "$package" in
        nginx | caddy | prometheus | postgresql) systemctl disable --now "$package" >/dev/null 2>&1 || true ;;
      esac
    done
  fi
  return "$status"
}
