-- A survey call carries a one-time token (issue 12, H2): only its SHA-256 is kept, set when
-- the survey is claimed for dialling and cleared when the FastAGI session presents it, so a
-- forged or replayed session cannot rate a survey.
-- depends: 0200_survey_queue

ALTER TABLE surveys ADD COLUMN session_token_hash text;
