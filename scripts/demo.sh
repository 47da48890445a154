#!/bin/sh
# Boot a Linux microVM under sluice with its console on this terminal.
# See tests/e2e/demo.sh --help.
exec "$(dirname "$0")/../tests/e2e/demo.sh" "$@"
