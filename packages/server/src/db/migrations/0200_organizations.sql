-- Organizations, memberships and the SQL helpers row-level security policies use.

create schema if not exists auth;

create table if not exists auth.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists auth.organization_members (
  organization_id uuid not null references auth.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);
create index if not exists organization_members_user_idx on auth.organization_members (user_id, created_at);

-- The organization a session acts for; chosen by POST /organizations/{id}/switch.
create table if not exists auth.session_organizations (
  session_id uuid primary key references auth.sessions (id) on delete cascade,
  organization_id uuid not null references auth.organizations (id) on delete cascade
);

-- Claims of the current request, as PostgREST and Supabase set them: request.jwt.claims holds the JSON.
create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

-- The caller's user id, or null (also null when the subject is not a user id, e.g. a machine client).
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select case
    when sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then sub::uuid
  end
  from (select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), auth.jwt() ->> 'sub') as sub) as claim
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''), auth.jwt() ->> 'role')
$$;

-- The organization the token acts for (app_metadata.organization_id), or null.
create or replace function auth.org_id() returns uuid
language sql stable
as $$
  select case
    when org ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then org::uuid
  end
  from (select auth.jwt() -> 'app_metadata' ->> 'organization_id' as org) as claim
$$;

-- The caller's role in that organization according to the token (owner, admin, member), or null.
create or replace function auth.org_role() returns text
language sql stable
as $$
  select auth.jwt() -> 'app_metadata' ->> 'org_role'
$$;

-- The caller's role in an organization according to the membership table, checked at query time so a
-- removed member loses access at once, whatever the token still says.
create or replace function auth.member_role(target uuid) returns text
language sql stable security definer set search_path = pg_catalog, auth
as $$
  select role from auth.organization_members where organization_id = target and user_id = auth.uid()
$$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.org_id(), auth.org_role(), auth.member_role(uuid)
  to anon, authenticated, service_role;

-- The connecting role must be able to take on the request roles when it is not a superuser.
do $$
declare
  role_name text;
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    foreach role_name in array array['anon', 'authenticated', 'service_role'] loop
      execute format('grant %I to %I', role_name, current_user);
    end loop;
  end if;
end
$$;

-- Earlier copies of this migration also created public.notes, the example API's table, with its
-- row-level-security policies and grants. The example is an app of its own now (examples/notes-api):
-- its migration creates them, idempotently, only where the example is mounted. Databases migrated
-- before keep the table and its rows; nothing here drops them.
