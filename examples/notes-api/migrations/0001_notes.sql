-- The notes API's resource: notes owned by an organization. Isolation is the database's job: the
-- policies read the caller's claims through the identity service's SQL helpers (auth.org_id(),
-- auth.uid(), auth.member_role()), which `withClaims` of @latchkey/verify sets per transaction.
--
-- Idempotent: databases created before the notes API had migrations of its own already hold this
-- table, its policies and its grants; running it again leaves them (and their rows) as they are.

create table if not exists public.notes (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references auth.organizations (id) on delete cascade,
  author_id uuid references auth.users (id) on delete set null,
  title text not null check (length(title) between 1 and 500),
  body text not null default '' check (length(body) <= 100000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists notes_organization_idx on public.notes (organization_id, created_at desc);

alter table public.notes enable row level security;
alter table public.notes force row level security;

drop policy if exists notes_member_read on public.notes;
create policy notes_member_read on public.notes for select to authenticated
  using (organization_id = auth.org_id() and auth.member_role(organization_id) is not null);

drop policy if exists notes_member_insert on public.notes;
create policy notes_member_insert on public.notes for insert to authenticated
  with check (organization_id = auth.org_id() and auth.member_role(organization_id) is not null and author_id = auth.uid());

drop policy if exists notes_member_update on public.notes;
create policy notes_member_update on public.notes for update to authenticated
  using (organization_id = auth.org_id() and auth.member_role(organization_id) is not null)
  with check (organization_id = auth.org_id());

drop policy if exists notes_admin_delete on public.notes;
create policy notes_admin_delete on public.notes for delete to authenticated
  using (organization_id = auth.org_id() and auth.member_role(organization_id) in ('owner', 'admin'));

drop policy if exists notes_service_role on public.notes;
create policy notes_service_role on public.notes for all to service_role using (true) with check (true);

grant select, insert, update, delete on public.notes to authenticated, service_role;
