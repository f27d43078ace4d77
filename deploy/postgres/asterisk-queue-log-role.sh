#!/bin/sh
# Run once by the postgres image when its data folder is new (/docker-entrypoint-initdb.d):
# the login role Asterisk writes the queue_log with. hotline's migration 0750 then grants it
# INSERT on asterisk.queue_log and nothing else.
set -eu
psql -v ON_ERROR_STOP=1 -v password="$HOTLINE_QUEUE_LOG_DB_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE asterisk_queue_log LOGIN PASSWORD :'password';
SQL
