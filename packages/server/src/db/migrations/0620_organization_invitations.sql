-- Invitations to organizations: membership exists only once the invitee accepts. Stored for any
-- address, with or without an account, so the answer to an invitation never reveals which addresses
-- have one. At most one pending invitation per organization and address.
create table if not exists auth.organization_invitations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references auth.organizations (id) on delete cascade,
  email text not null,
  role text not null check (role in ('owner', 'admin', 'member')),
  invited_by uuid references auth.users (id) on delete set null,
  status text not null default 'pending' check (status in ('pending', 'accepted', 'declined', 'revoked')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  responded_at timestamptz
);
create unique index if not exists organization_invitations_pending_key
  on auth.organization_invitations (organization_id, email) where status = 'pending';
create index if not exists organization_invitations_email_idx on auth.organization_invitations (email) where status = 'pending';
