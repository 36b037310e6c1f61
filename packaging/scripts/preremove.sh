#!/bin/sh
# vigil pre-removal: stop the agent when the package goes away (deb prerm
# "remove", rpm %preun with $1 = 0), not on upgrades.
set -e

case "$1" in
    remove|0) ;;
    *) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
    systemctl stop vigil-agent.service >/dev/null 2>&1 || true
    systemctl disable vigil-agent.service >/dev/null 2>&1 || true
fi
exit 0
