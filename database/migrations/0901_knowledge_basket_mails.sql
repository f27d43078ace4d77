-- Each basket sent to a caller: which mail of the outbox carried which documents of which
-- call, and who sent it (the outbox row keeps the address and whether it went out).
-- depends: 0900_knowledge_base 0920_mail_outbox

CREATE TABLE knowledge_basket_mails (
    mail_id bigint PRIMARY KEY REFERENCES mail_outbox (id),
    call_key text NOT NULL,
    attachment_ids bigint[] NOT NULL,
    sent_by bigint NOT NULL REFERENCES users (id),
    sent_at timestamptz NOT NULL
);
CREATE INDEX knowledge_basket_mails_call_key ON knowledge_basket_mails (call_key);
CREATE INDEX knowledge_basket_mails_sent_by ON knowledge_basket_mails (sent_by);
