-- The register is searched by the caller's phone (as typed at intake, compared digit for
-- digit) and name (the start of the name, or any whole word of it, such as the surname).
-- depends: 0821_report_indexes

CREATE INDEX cases_contact_phone_digits ON cases (regexp_replace(contact_phone, '[^0-9]', '', 'g'))
    WHERE contact_phone IS NOT NULL;
CREATE INDEX cases_contact_name_prefix ON cases (lower(contact_name) text_pattern_ops)
    WHERE contact_name IS NOT NULL;
CREATE INDEX cases_contact_name_words ON cases
    USING gin (regexp_split_to_array(lower(btrim(contact_name)), '\s+'))
    WHERE contact_name IS NOT NULL;
