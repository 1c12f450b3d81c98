-- Failed password logins, shared by every identity node. Keys are SHA-256 digests of the account
-- (e-mail or phone as typed), the client address, or both; a row is forgotten once its last failure is
-- older than the failure window.
create table if not exists auth.login_failures (
  key text primary key,
  failures integer not null default 0,
  last_failure_at timestamptz not null,
  blocked_until timestamptz
);
create index if not exists login_failures_last_failure_idx on auth.login_failures (last_failure_at);
