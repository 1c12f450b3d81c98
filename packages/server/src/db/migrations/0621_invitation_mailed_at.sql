-- When the invitation mail last went out: inviting the same address again within a minute renews the
-- invitation without mailing again, so an inviter cannot flood an address.
alter table auth.organization_invitations add column if not exists mailed_at timestamptz not null default now();
