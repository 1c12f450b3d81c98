-- OAuth 2.0 clients (client credentials grant) and TOTP factors.

-- Confidential clients. The secret is kept only as its SHA-256 digest (secrets are 32 random bytes,
-- so a fast digest is enough); it is shown once, at creation.
create table if not exists auth.oauth_clients (
  id text primary key,
  secret_hash bytea not null,
  name text not null check (length(name) between 1 and 200),
  -- Scopes the client may ask for; a token gets the requested subset, or all of them.
  scopes jsonb not null default '[]'::jsonb,
  organization_id uuid references auth.organizations (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists oauth_clients_created_at_idx on auth.oauth_clients (created_at desc, id);

-- Second factors, shaped like GoTrue's auth.mfa_factors. `last_used_step` is the TOTP time step of the
-- last accepted code: a code is accepted once per step.
create table if not exists auth.mfa_factors (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  friendly_name text not null default '',
  factor_type text not null check (factor_type in ('totp')),
  status text not null check (status in ('unverified', 'verified')),
  secret text not null,
  last_used_step bigint,
  last_challenged_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists mfa_factors_user_id_idx on auth.mfa_factors (user_id, created_at);
create unique index if not exists mfa_factors_user_friendly_name_key on auth.mfa_factors (user_id, friendly_name) where friendly_name <> '';

create table if not exists auth.mfa_challenges (
  id uuid primary key,
  factor_id uuid not null references auth.mfa_factors (id) on delete cascade,
  ip text,
  created_at timestamptz not null default now(),
  verified_at timestamptz
);
create index if not exists mfa_challenges_factor_id_idx on auth.mfa_challenges (factor_id);
