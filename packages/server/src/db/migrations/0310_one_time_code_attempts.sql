-- One-time codes are checked against the address they were sent to: `code_digest` is SHA-256 of the
-- address and the code, and a token dies after five wrong guesses (`failed_attempts`). The link carries a
-- random hash of its own (`token_digest`), so a link cannot be derived from a guessed code.
-- Token types also cover email change (one code per address) and reauthentication.
alter table auth.one_time_tokens add column if not exists code_digest bytea;
alter table auth.one_time_tokens add column if not exists failed_attempts integer not null default 0;
create index if not exists one_time_tokens_relates_to_idx on auth.one_time_tokens (relates_to);
alter table auth.one_time_tokens drop constraint if exists one_time_tokens_token_type_check;
alter table auth.one_time_tokens add constraint one_time_tokens_token_type_check
  check (token_type in ('confirmation', 'recovery', 'magiclink', 'email_change_current', 'email_change_new', 'reauthentication'));
