-- Revocation events: one row per change that ends access (logout, ban, deletion, membership removal…).
-- Stored so a node that missed the broadcast catches up; a row is useless once every token it refuses
-- has expired (`expires_at`) and is pruned then.
create table if not exists auth.revocation_events (
  id bigserial primary key,
  kind text not null,
  user_id uuid,
  session_ids uuid[],
  organization_id uuid,
  client_id text,
  issued_before timestamptz not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);

-- Pruning deletes by expiry; readers go by id (the primary key).
create index if not exists revocation_events_expires_at_idx on auth.revocation_events (expires_at);
