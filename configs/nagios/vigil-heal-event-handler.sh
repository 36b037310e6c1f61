#!/bin/sh
# vigil-heal-event-handler.sh - Nagios / Icinga event handler that asks
# vigil-agent to heal a service, in the pattern of the Nagios Core
# documentation's restart-httpd example.
#
# Usage (from the event handler command):
#   vigil-heal-event-handler.sh STATE STATETYPE ATTEMPT HOST RULE [check_nrpe options...]
#
#   STATE      $SERVICESTATE$       (Icinga 2: $service.state$)
#   STATETYPE  $SERVICESTATETYPE$   (Icinga 2: $service.state_type$)
#   ATTEMPT    $SERVICEATTEMPT$     (Icinga 2: $service.check_attempt$)
#   HOST       $HOSTADDRESS$        the host running vigil-agent
#   RULE       the watch[RULE] on that host; the agent serves it as the
#              NRPE command heal_RULE
#
# It acts only on the first HARD CRITICAL: by then the monitoring server
# has counted its own max_check_attempts, so the agent re-probes and acts
# at once. The agent still applies the rule's backoff, per-window limit and
# give-up, and takes the same lock as its daemon and cron mode, so a
# failure that the agent already healed is not restarted twice.
#
# Exit status and output are check_nrpe's, which Nagios writes to its log.

CHECK_NRPE=${CHECK_NRPE:-/usr/lib/nagios/plugins/check_nrpe}

if [ $# -lt 5 ]; then
	echo "usage: $0 STATE STATETYPE ATTEMPT HOST RULE [check_nrpe options...]" >&2
	exit 3
fi
state=$1 statetype=$2 attempt=$3 host=$4 rule=$5
shift 5

case "$state" in
OK | UP)
	# Recovered: nothing to do.
	;;
WARNING | UNKNOWN)
	# Not a reason to restart anything.
	;;
CRITICAL | DOWN)
	case "$statetype" in
	SOFT)
		# The monitoring server is still counting attempts ($attempt so
		# far); the restart waits for the HARD state.
		echo "vigil heal $rule: $state SOFT attempt $attempt, waiting for HARD"
		;;
	HARD)
		echo "vigil heal $rule: $state HARD after attempt $attempt, asking $host"
		exec "$CHECK_NRPE" -H "$host" -c "heal_$rule" "$@"
		;;
	esac
	;;
esac
exit 0
