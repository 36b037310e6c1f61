#!/bin/sh
# vigil post-removal. On dpkg --purge it deletes the agent's state and its
# system user, which owns nothing else; a plain remove (and rpm -e, which
# has no purge) keeps both, as conffiles are kept.
set -e

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi

if [ "$1" = "purge" ]; then
    rm -rf /var/lib/vigil
    if getent passwd vigil >/dev/null; then
        userdel vigil >/dev/null 2>&1 || true
    fi
    if getent group vigil >/dev/null; then
        groupdel vigil >/dev/null 2>&1 || true
    fi
    # dpkg removes the conffiles; the directories it created stay if they
    # hold anything the administrator added.
    rmdir /etc/vigil/nrpe.d /etc/vigil/nagios /etc/vigil/icinga2 /etc/vigil 2>/dev/null || true
fi
exit 0
