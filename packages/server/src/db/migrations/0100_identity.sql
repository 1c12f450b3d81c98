-- Identity service: users, identities, sessions, refresh tokens and signing keys, shaped like
-- Supabase Auth's `auth` schema so tooling that reads it keeps working.
create schema if not exists auth;

create table if not exists auth.users (
  id uuid primary key,
  aud text not null default 'authenticated',
  role text not null default 'authenticated',
  email text,
  encrypted_password text,
  email_confirmed_at timestamptz,
  confirmation_sent_at timestamptz,
  new_email text,
  email_change_sent_at timestamptz,
  phone text,
  phone_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  banned_until timestamptz,
  is_anonymous boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
-- One account per address; addresses compare case-insensitively and are stored lower-cased.
create unique index if not exists users_email_key on auth.users (email) where email is not null and deleted_at is null;
create unique index if not exists users_phone_key on auth.users (phone) where phone is not null and deleted_at is null;
-- Admin listing: newest first, stable order.
create index if not exists users_created_at_idx on auth.users (created_at desc, id desc);

create table if not exists auth.identities (
  id uuid primary key,
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  email text generated always as (lower(identity_data ->> 'email')) stored,
  unique (provider_id, provider)
);
create index if not exists identities_user_id_idx on auth.identities (user_id);

-- One row per login. `amr` keeps how the session was authenticated ([{method, timestamp}], newest
-- first) so every access token minted from it, refreshes included, carries the same claims.
create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  aal text not null default 'aal1',
  amr jsonb not null default '[]'::jsonb,
  not_after timestamptz,
  refreshed_at timestamptz,
  -- Set when a refresh token of this session was reused outside the reuse interval: every refresh
  -- token of the session is then dead.
  reuse_detected_at timestamptz,
  user_agent text,
  ip text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id, created_at);

-- Opaque refresh tokens, stored as SHA-256 digests. `sealed` is the token encrypted under a key
-- derived from its parent token, so presenting the parent again can hand back the same child.
create table if not exists auth.refresh_tokens (
  id bigserial primary key,
  token_hash bytea not null,
  sealed bytea,
  user_id uuid not null,
  session_id uuid not null references auth.sessions (id) on delete cascade,
  parent_id bigint,
  revoked boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- The refresh path looks a token up by digest and the session's active token by session.
create unique index if not exists refresh_tokens_token_hash_key on auth.refresh_tokens (token_hash);
create index if not exists refresh_tokens_session_id_idx on auth.refresh_tokens (session_id, id);

-- Generated asymmetric signing keys. The row without `retired_at` signs; retired keys stay in the
-- JWKS until `verify_until`, when every token they signed has expired.
create table if not exists auth.signing_keys (
  kid text primary key,
  alg text not null,
  private_jwk jsonb not null,
  public_jwk jsonb not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz,
  verify_until timestamptz
);
create unique index if not exists signing_keys_one_active on auth.signing_keys ((true)) where retired_at is null;
