#!/bin/sh
# Copy this folder's configuration to $1 (default /etc/asterisk), replacing each placeholder
# (a NAME between at-signs) with the environment variable NAME. Refuses to start Asterisk
# with a missing value or a leftover placeholder, so an empty secret never reaches production.
set -eu
target="${1:-/etc/asterisk}"
source_dir="$(cd "$(dirname "$0")" && pwd)"
: "${HOTLINE_AMI_USER:=hotline}"
: "${HOTLINE_AGI_HOST:=hotline}"
: "${HOTLINE_PBX_NAME:=main}"
: "${HOTLINE_AGI_PORT:=4573}"
: "${HOTLINE_AMI_PORT:=5038}"
: "${HOTLINE_INCALL_SURVEY:=no}"
: "${HOTLINE_QUEUE_TIMEOUT:=120}"
: "${HOTLINE_RECORDING:=false}"
: "${HOTLINE_QUEUE_LOG_DB_HOST:=postgres}"
: "${HOTLINE_QUEUE_LOG_DB_PORT:=5432}"
: "${HOTLINE_QUEUE_LOG_DB_NAME:=hotline}"
: "${HOTLINE_QUEUE_LOG_DB_USER:=asterisk_queue_log}"
export HOTLINE_AMI_USER HOTLINE_AGI_HOST HOTLINE_AGI_PORT HOTLINE_AMI_PORT HOTLINE_PBX_NAME
export HOTLINE_INCALL_SURVEY HOTLINE_QUEUE_TIMEOUT HOTLINE_RECORDING
export HOTLINE_QUEUE_LOG_DB_HOST HOTLINE_QUEUE_LOG_DB_PORT HOTLINE_QUEUE_LOG_DB_NAME
export HOTLINE_QUEUE_LOG_DB_USER
mkdir -p "$target"
for file in "$source_dir"/*.conf; do
    name="$(basename "$file")"
    content="$(cat "$file")"
    for var in $(grep -o '@[A-Z][A-Z0-9_]*@' "$file" | sort -u | tr -d '@'); do
        value="$(printenv "$var" || true)"
        if [ -z "$value" ]; then
            echo "render-config: $var is not set (needed by $name)" >&2
            exit 1
        fi
        case "$value" in *[\|\&\\]*)
            echo "render-config: $var contains | & or \\ characters" >&2
            exit 1
        esac
        content="$(printf '%s\n' "$content" | sed "s|@$var@|$value|g")"
    done
    printf '%s\n' "$content" > "$target/$name"
done
if grep -l '@[A-Z][A-Z0-9_]*@' "$target"/*.conf >/dev/null 2>&1; then
    echo "render-config: placeholders left in $target" >&2
    exit 1
fi
# Secrets inside: readable by root and the asterisk group only (Asterisk may run as either).
if getent group asterisk >/dev/null 2>&1; then
    chgrp asterisk "$target/manager.conf" "$target/pjsip.conf" "$target/res_pgsql.conf"
fi
chmod 640 "$target/manager.conf" "$target/pjsip.conf" "$target/res_pgsql.conf"
