import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { withClaims } from '@latchkey/verify';
import { migrateExtension } from '@latchkey/server';
import { notesApi } from '../src/index.js';

type Caller = {
  sub: string;
  role: 'authenticated' | 'service_role';
  app_metadata?: { organization_id?: string; org_role?: string };
};

describeEachDatabase('row-level security on notes', (database) => {
  const orgA = randomUUID();
  const orgB = randomUUID();
  const alice = randomUUID(); // owner of A
  const bob = randomUUID(); // member of A
  const carol = randomUUID(); // owner of B
  const claims = (sub: string, org: string, role: string): Caller => ({ sub, role: 'authenticated', app_metadata: { organization_id: org, org_role: role } });

  beforeAll(async () => {
    const db = database();
    await migrateExtension(db, notesApi());
    await db.query(`insert into auth.users (id, email) values ($1, 'alice@example.com'), ($2, 'bob@example.com'), ($3, 'carol@example.com')`, [alice, bob, carol]);
    await db.query(`insert into auth.organizations (id, name) values ($1, 'A'), ($2, 'B')`, [orgA, orgB]);
    await db.query(
      `insert into auth.organization_members (organization_id, user_id, role) values ($1, $3, 'owner'), ($1, $4, 'member'), ($2, $5, 'owner')`,
      [orgA, orgB, alice, bob, carol],
    );
    await db.query(`insert into public.notes (organization_id, author_id, title) values ($1, $2, 'a1'), ($1, $2, 'a2'), ($3, $4, 'b1')`, [orgA, alice, orgB, carol]);
  });

  it('auth.uid(), auth.jwt(), auth.role() and auth.org_id() read the request claims', async () => {
    const row = await withClaims(database(), claims(alice, orgA, 'owner'), async (tx) => {
      const { rows } = await tx.query<{ uid: string; role: string; org: string; email: string | null; current: string }>(
        `select auth.uid() as uid, auth.role() as role, auth.org_id() as org, auth.jwt() ->> 'email' as email, current_user as current`,
      );
      return rows[0]!;
    });
    expect(row).toEqual({ uid: alice, role: 'authenticated', org: orgA, email: null, current: 'authenticated' });
  });

  it('a raw select * sees only the caller organization rows', async () => {
    const titlesFor = (caller: Caller) =>
      withClaims(database(), caller, async (tx) => (await tx.query<{ title: string }>('select * from public.notes order by title')).rows.map((r) => r.title));
    expect(await titlesFor(claims(alice, orgA, 'owner'))).toEqual(['a1', 'a2']);
    expect(await titlesFor(claims(carol, orgB, 'owner'))).toEqual(['b1']);
    // A token claiming an organization the user does not belong to sees nothing.
    expect(await titlesFor(claims(carol, orgA, 'owner'))).toEqual([]);
    expect(await titlesFor({ sub: alice, role: 'authenticated' })).toEqual([]);
  });

  it('refuses writes aimed at another organization and deletes by members', async () => {
    const db = database();
    await expect(
      withClaims(db, claims(alice, orgA, 'owner'), (tx) => tx.query(`insert into public.notes (organization_id, author_id, title) values ($1, $2, 'x')`, [orgB, alice])),
    ).rejects.toThrow(/row-level security/);
    const deletedByMember = await withClaims(db, claims(bob, orgA, 'member'), (tx) => tx.query(`delete from public.notes where title = 'a1'`));
    expect(deletedByMember.rowCount).toBe(0);
    const deletedByOwner = await withClaims(db, claims(alice, orgA, 'owner'), (tx) => tx.query(`delete from public.notes where title = 'a1'`));
    expect(deletedByOwner.rowCount).toBe(1);
  });

  it('the service role sees every organization', async () => {
    const { rows } = await withClaims(database(), { sub: 'service', role: 'service_role' }, (tx) => tx.query<{ n: number }>('select count(*)::int8 as n from public.notes'));
    expect(rows[0]!.n).toBeGreaterThanOrEqual(2);
  });
});
