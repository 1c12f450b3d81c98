-- Foundation: a private schema for Latchkey's own state and the roles row-level security uses.
create schema if not exists latchkey;

-- Generated secrets and settings that must survive restarts (signing keys, API keys).
create table if not exists latchkey.settings (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);

-- Roles as Supabase has them. Roles are cluster-wide on PostgreSQL, so creation tolerates a
-- concurrent creator in another database.
do $$
declare
  role_name text;
begin
  foreach role_name in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = role_name) then
      begin
        execute format('create role %I nologin noinherit', role_name);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
end
$$;
