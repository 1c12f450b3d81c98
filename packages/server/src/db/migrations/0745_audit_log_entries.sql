-- The audit trail, shaped like Supabase Auth's `auth.audit_log_entries` so tooling that reads it keeps
-- working: `payload` holds {actor_id, actor_username, actor_name?, actor_via_sso, action, log_type,
-- traits?}. Entries are written in the transaction of the action they record.
create table if not exists auth.audit_log_entries (
  instance_id uuid,
  id uuid not null primary key,
  payload json,
  created_at timestamptz default now(),
  ip_address varchar(64) not null default '',
  -- Not in GoTrue's table: the order entries were written in, for entries of one instant.
  seq bigint generated always as identity
);
create index if not exists audit_logs_instance_id_idx on auth.audit_log_entries (instance_id);
-- Reading newest first, and pruning by age.
create index if not exists audit_log_entries_created_at_idx on auth.audit_log_entries (created_at desc, seq desc);
-- Filtering by the user acted on or acting.
create index if not exists audit_log_entries_actor_idx on auth.audit_log_entries ((payload ->> 'actor_id'), created_at desc);
create index if not exists audit_log_entries_subject_idx on auth.audit_log_entries (((payload -> 'traits') ->> 'user_id'), created_at desc);
