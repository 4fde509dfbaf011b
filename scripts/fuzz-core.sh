#!/usr/bin/env bash
# The fuzz targets of fuzz/ (template, docker_machine_config) run through scripts/fuzz.sh, which
# runs every crate's targets (scripts/fuzz.sh --list):
#   scripts/fuzz-core.sh TARGET SECONDS
exec bash "$(dirname "$0")/fuzz.sh" "$@"
