import { beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { databaseRole, withClaims } from '../src/index.js';

describeEachDatabase('withClaims', (database) => {
  beforeAll(async () => {
    await database().execScript(`
      create table verify_rls_items (id serial primary key, owner text not null, body text not null);
      alter table verify_rls_items enable row level security;
      create policy owner_reads on verify_rls_items for select
        using (owner = current_setting('request.jwt.claims', true)::jsonb ->> 'sub');
      create policy owner_writes on verify_rls_items for insert
        with check (owner = current_setting('request.jwt.claims', true)::jsonb ->> 'sub');
      create policy anon_reads_public on verify_rls_items for select to anon using (owner = 'public');
      create policy service_all on verify_rls_items to service_role using (true) with check (true);
      grant select, insert on verify_rls_items to authenticated, anon, service_role;
      grant usage on sequence verify_rls_items_id_seq to authenticated, service_role;
      insert into verify_rls_items (owner, body) values ('alice', 'a1'), ('alice', 'a2'), ('bob', 'b1'), ('public', 'p1');
    `);
  });

  it('lets row-level security see only the caller rows', async () => {
    const alice = { sub: 'alice', role: 'authenticated', aud: 'authenticated' };
    const rows = await withClaims(database(), alice, async (tx) => (await tx.query<{ body: string }>('select body from verify_rls_items order by body')).rows);
    expect(rows.map((row) => row.body)).toEqual(['a1', 'a2']);
    const bob = await withClaims(database(), { sub: 'bob' }, async (tx) => (await tx.query<{ body: string }>('select body from verify_rls_items')).rows);
    expect(bob.map((row) => row.body)).toEqual(['b1']);
  });

  it('runs as authenticated, anon or service_role and resets afterwards', async () => {
    const roleOf = (claims: Record<string, unknown> | null) =>
      withClaims(database(), claims, async (tx) => (await tx.query<{ role: string; sub: string | null }>(
        "select current_user::text as role, current_setting('request.jwt.claims', true)::jsonb ->> 'sub' as sub",
      )).rows[0]);
    expect(await roleOf({ sub: 'alice' })).toEqual({ role: 'authenticated', sub: 'alice' });
    expect(await roleOf(null)).toEqual({ role: 'anon', sub: null });
    expect(await roleOf({ sub: 'svc', role: 'service_role' })).toEqual({ role: 'service_role', sub: 'svc' });
    const after = await database().query<{ role: string; claims: string | null }>(
      "select current_user::text as role, nullif(current_setting('request.jwt.claims', true), '') as claims",
    );
    expect(after.rows[0]?.role).not.toMatch(/^(anon|authenticated|service_role)$/);
    expect(after.rows[0]?.claims).toBeNull();
    expect(databaseRole({ role: 'anon' })).toBe('anon');
  });

  it('enforces policies on writes and for anon', async () => {
    await withClaims(database(), { sub: 'carol' }, (tx) => tx.query("insert into verify_rls_items (owner, body) values ('carol', 'c1')"));
    await expect(
      withClaims(database(), { sub: 'carol' }, (tx) => tx.query("insert into verify_rls_items (owner, body) values ('alice', 'forged')")),
    ).rejects.toThrow(/row-level security/);
    const anon = await withClaims(database(), null, async (tx) => (await tx.query<{ body: string }>('select body from verify_rls_items')).rows);
    expect(anon.map((row) => row.body)).toEqual(['p1']);
    const all = await withClaims(database(), { sub: 'ops', role: 'service_role' }, async (tx) => (await tx.query('select 1 from verify_rls_items')).rows.length);
    expect(all).toBe(5);
  });

  it('rolls back when the work throws', async () => {
    await expect(
      withClaims(database(), { sub: 'dave' }, async (tx) => {
        await tx.query("insert into verify_rls_items (owner, body) values ('dave', 'd1')");
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const rows = await withClaims(database(), { sub: 'dave' }, async (tx) => (await tx.query('select 1 from verify_rls_items')).rows);
    expect(rows).toHaveLength(0);
  });
});
