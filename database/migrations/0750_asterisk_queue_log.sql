-- Asterisk's own queue_log, written by app_queue through res_config_pgsql (extconfig.conf
-- `queue_log => pgsql,hotline,asterisk.queue_log`, logger.conf `queue_adaptive_realtime`):
-- the durable record of every queue call, kept whether or not anyone listens on the AMI,
-- from which hotline fills the AMI's gaps. Its own schema, so Asterisk's role reaches
-- nothing else. The columns are the ones Asterisk's realtime driver inserts; `id` is not
-- written by Asterisk and is hotline's reading cursor. An administrator may have created
-- the schema (or this very table) before: both are then kept.
-- depends: 0001_base

CREATE SCHEMA IF NOT EXISTS asterisk;

CREATE TABLE IF NOT EXISTS asterisk.queue_log (
    id        bigserial PRIMARY KEY,
    time      timestamp NOT NULL,
    callid    text NOT NULL DEFAULT '',
    queuename text NOT NULL DEFAULT '',
    agent     text NOT NULL DEFAULT '',
    event     text NOT NULL,
    data1     text NOT NULL DEFAULT '',
    data2     text NOT NULL DEFAULT '',
    data3     text NOT NULL DEFAULT '',
    data4     text NOT NULL DEFAULT '',
    data5     text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_log_callid_event ON asterisk.queue_log (callid, event);

-- Asterisk's role may only add rows. Roles belong to the whole server, so it is created
-- only when the migrating user may create roles (else an administrator creates it, see
-- deploy/asterisk/README.md) and granted whenever it exists.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'asterisk_queue_log')
       AND EXISTS (SELECT 1 FROM pg_roles
                   WHERE rolname = current_user AND (rolcreaterole OR rolsuper)) THEN
        CREATE ROLE asterisk_queue_log NOLOGIN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'asterisk_queue_log') THEN
        GRANT USAGE ON SCHEMA asterisk TO asterisk_queue_log;
        GRANT INSERT ON asterisk.queue_log TO asterisk_queue_log;
        GRANT USAGE ON SEQUENCE asterisk.queue_log_id_seq TO asterisk_queue_log;
    END IF;
END
$$;
