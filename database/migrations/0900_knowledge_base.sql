-- The knowledge base (issue 14): articles in Thai and English, their revisions, their
-- attachments (kept in the database, so a backup holds them), and the documents an agent
-- puts in a caller's basket during a call.
-- depends: 0001_base

CREATE TABLE knowledge_articles (
    id bigserial PRIMARY KEY,
    title_th text NOT NULL DEFAULT '',
    title_en text NOT NULL DEFAULT '',
    body_th text NOT NULL DEFAULT '',
    body_en text NOT NULL DEFAULT '',
    tags text[] NOT NULL DEFAULT '{}',
    unit_id bigint REFERENCES units (id),
    review_on date,
    published boolean NOT NULL DEFAULT false,
    -- Words of the titles and tags (weight A) and bodies (weight B), segmented by hotline
    -- because Thai has no spaces between words (knowledge/words.py); the titles' and tags'
    -- alone, small enough to rank every match, in title_terms.
    terms tsvector NOT NULL DEFAULT ''::tsvector,
    title_terms tsvector NOT NULL DEFAULT ''::tsvector,
    updated_at timestamptz NOT NULL,
    updated_by bigint NOT NULL REFERENCES users (id),
    CHECK (title_th <> '' OR title_en <> '')
);
-- Articles change seldom and are searched during calls: no pending list (fastupdate) that
-- every search would scan until the next vacuum.
CREATE INDEX knowledge_articles_terms ON knowledge_articles USING gin (terms)
    WITH (fastupdate = off);
CREATE INDEX knowledge_articles_title_terms ON knowledge_articles USING gin (title_terms)
    WITH (fastupdate = off);
CREATE INDEX knowledge_articles_unit_id ON knowledge_articles (unit_id);
CREATE INDEX knowledge_articles_updated_by ON knowledge_articles (updated_by);

CREATE TABLE knowledge_revisions (
    article_id bigint NOT NULL REFERENCES knowledge_articles (id),
    revision integer NOT NULL,
    content jsonb NOT NULL,
    saved_at timestamptz NOT NULL,
    saved_by bigint NOT NULL REFERENCES users (id),
    PRIMARY KEY (article_id, revision)
);
CREATE INDEX knowledge_revisions_saved_by ON knowledge_revisions (saved_by);

CREATE TABLE knowledge_attachments (
    id bigserial PRIMARY KEY,
    article_id bigint NOT NULL REFERENCES knowledge_articles (id),
    filename text NOT NULL CHECK (filename <> ''),
    content_type text NOT NULL,
    size integer NOT NULL CHECK (size > 0),
    data bytea NOT NULL,
    uploaded_at timestamptz NOT NULL,
    uploaded_by bigint NOT NULL REFERENCES users (id)
);
CREATE INDEX knowledge_attachments_article_id ON knowledge_attachments (article_id);
CREATE INDEX knowledge_attachments_uploaded_by ON knowledge_attachments (uploaded_by);

-- Kept per call: what the agent picked for this caller, to review and send.
CREATE TABLE knowledge_baskets (
    call_key text NOT NULL,
    attachment_id bigint NOT NULL REFERENCES knowledge_attachments (id),
    added_by bigint NOT NULL REFERENCES users (id),
    added_at timestamptz NOT NULL,
    PRIMARY KEY (call_key, attachment_id)
);
CREATE INDEX knowledge_baskets_attachment_id ON knowledge_baskets (attachment_id);
CREATE INDEX knowledge_baskets_added_by ON knowledge_baskets (added_by);
