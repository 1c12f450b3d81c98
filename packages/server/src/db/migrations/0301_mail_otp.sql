-- Development outbox, one-time email tokens and PKCE flow states.

-- Mail kept instead of sent when no SMTP server is configured.
create table if not exists auth.mail_outbox (
  id bigserial primary key,
  recipient text not null,
  subject text not null,
  text_body text not null,
  html_body text not null,
  created_at timestamptz not null default now()
);
create index if not exists mail_outbox_recipient_idx on auth.mail_outbox (recipient, id desc);

-- PKCE flows started by /otp, /recover or /signup with a code_challenge. `auth_code_digest` is set when
-- the emailed link is followed; POST /token?grant_type=pkce then trades the code and its verifier.
create table if not exists auth.flow_state (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  code_challenge text not null,
  code_challenge_method text not null check (code_challenge_method in ('s256', 'plain')),
  authentication_method text not null,
  auth_code_digest bytea,
  auth_code_issued_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index if not exists flow_state_auth_code_key on auth.flow_state (auth_code_digest) where auth_code_digest is not null;

-- Emailed one-time tokens: one live token per user and purpose. `token_digest` is SHA-256 of GoTrue's
-- token hash (hex SHA-224 of address + code), so neither the code nor the link is stored.
create table if not exists auth.one_time_tokens (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  token_type text not null check (token_type in ('confirmation', 'recovery', 'magiclink')),
  token_digest bytea not null,
  relates_to text not null,
  flow_state_id uuid references auth.flow_state (id) on delete set null,
  created_at timestamptz not null default now(),
  unique (user_id, token_type)
);
create unique index if not exists one_time_tokens_digest_key on auth.one_time_tokens (token_digest);
