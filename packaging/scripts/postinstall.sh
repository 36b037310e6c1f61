#!/bin/sh
# vigil post-install, shared by the .deb (postinst: $1 = configure) and the
# .rpm (%post: $1 = 1 on install, 2 on upgrade).
set -e

case "$1" in
    configure|1|2) ;;
    *) exit 0 ;;
esac

# The agent's system user. It joins the docker group when Docker is installed
# so that check_container and the heal actions can reach /var/run/docker.sock.
if ! getent group vigil >/dev/null; then
    groupadd --system vigil
fi
if ! getent passwd vigil >/dev/null; then
    useradd --system --gid vigil --home-dir /var/lib/vigil --no-create-home \
        --shell /usr/sbin/nologin --comment "vigil monitoring agent" vigil
fi
if getent group docker >/dev/null; then
    usermod --append --groups docker vigil
fi

# State (heal state file, lock, audit log, TLS pair): the only place the
# hardened unit may write to.
install -d -o vigil -g vigil -m 0750 /var/lib/vigil

# The service is not started here: it listens on 5666, as the stock nrpe
# daemon does, so an administrator migrating from nrpe picks the moment
# (docs/migrating-from-nrpe.md).
# On an upgrade (deb: configure with the old version in $2; rpm: $1 = 2) a
# running agent is restarted onto the new binary; a stopped one stays stopped.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
    if [ -n "${2:-}" ] || [ "$1" = 2 ]; then
        systemctl try-restart vigil-agent.service >/dev/null 2>&1 || true
    fi
fi
exit 0
