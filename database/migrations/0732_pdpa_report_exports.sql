-- A report exported with callers' numbers is a view of personal data too (issue 12): the
-- PDPA log records it with what was exported (`subject`), where a case view has its case.
-- depends: 0100_cases_lifecycle

ALTER TABLE pdpa_view_log
    ALTER COLUMN case_reference DROP NOT NULL,
    ADD COLUMN subject text,
    ADD CONSTRAINT pdpa_view_log_names_what CHECK (case_reference IS NOT NULL OR subject IS NOT NULL);
