-- Sign-in with upstream OAuth 2.0 / OpenID Connect providers reuses the PKCE flow states: a flow is
-- created by GET /authorize (its `state` parameter toward the provider is the flow's one-time secret,
-- kept as a SHA-256 digest), claimed once by GET /callback, then either ends in a session (implicit
-- flow) or gets its user and authorization code for POST /token?grant_type=pkce.
alter table auth.flow_state alter column user_id drop not null;
alter table auth.flow_state alter column code_challenge drop not null;
alter table auth.flow_state alter column code_challenge_method drop not null;
alter table auth.flow_state add column if not exists provider_type text;
alter table auth.flow_state add column if not exists redirect_to text;
alter table auth.flow_state add column if not exists linking_target_id uuid references auth.users (id) on delete cascade;
alter table auth.flow_state add column if not exists state_digest bytea;
alter table auth.flow_state add column if not exists provider_code_verifier text;
alter table auth.flow_state add column if not exists provider_nonce text;
alter table auth.flow_state add column if not exists provider_access_token text;
alter table auth.flow_state add column if not exists provider_refresh_token text;
alter table auth.flow_state add column if not exists callback_at timestamptz;
create unique index if not exists flow_state_state_digest_key on auth.flow_state (state_digest) where state_digest is not null;
-- Abandoned provider flows are swept by age.
create index if not exists flow_state_provider_created_idx on auth.flow_state (created_at) where provider_type is not null;
