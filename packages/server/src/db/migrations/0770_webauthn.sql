-- WebAuthn: passkeys (first-factor sign-in) and WebAuthn second factors, shaped like GoTrue's
-- auth.webauthn_credentials and auth.webauthn_challenges.

-- A credential is a passkey when `factor_id` is null, and the credential of a WebAuthn second factor
-- otherwise (it then never signs in on its own). `sign_count` only grows: an assertion whose counter is
-- not above it is refused (a cloned authenticator), except for authenticators that always report 0.
create table if not exists auth.webauthn_credentials (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  factor_id uuid,
  credential_id bytea not null,
  public_key bytea not null,
  attestation_type text not null default '',
  aaguid uuid,
  sign_count bigint not null default 0,
  transports jsonb not null default '[]'::jsonb,
  backup_eligible boolean not null default false,
  backed_up boolean not null default false,
  friendly_name text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_used_at timestamptz
);
create unique index if not exists webauthn_credentials_credential_id_key on auth.webauthn_credentials (credential_id);
create index if not exists webauthn_credentials_user_id_idx on auth.webauthn_credentials (user_id, created_at);

-- Second factors of type webauthn have no secret; their credential lives in webauthn_credentials.
alter table auth.mfa_factors drop constraint if exists mfa_factors_factor_type_check;
alter table auth.mfa_factors add constraint mfa_factors_factor_type_check check (factor_type in ('totp', 'webauthn'));
alter table auth.webauthn_credentials drop constraint if exists webauthn_credentials_factor_id_fkey;
alter table auth.webauthn_credentials add constraint webauthn_credentials_factor_id_fkey
  foreign key (factor_id) references auth.mfa_factors (id) on delete cascade;

-- Ceremony challenges, used once: deleted when presented. Registration challenges are bound to the
-- user and the session that asked; passkey sign-in challenges to nobody (the credential names the user);
-- second-factor challenges to the factor, its user and the session.
create table if not exists auth.webauthn_challenges (
  id uuid primary key,
  user_id uuid references auth.users (id) on delete cascade,
  session_id uuid references auth.sessions (id) on delete cascade,
  factor_id uuid references auth.mfa_factors (id) on delete cascade,
  challenge_type text not null check (challenge_type in ('registration', 'authentication')),
  challenge text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index if not exists webauthn_challenges_expires_at_idx on auth.webauthn_challenges (expires_at);
