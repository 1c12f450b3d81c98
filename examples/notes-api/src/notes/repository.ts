import type { ClaimsTransaction as Queryable } from '@latchkey/verify';
import type { NewNote, NoteJson, NotePatch } from './schemas.js';

type NoteRow = {
  id: string;
  organization_id: string;
  author_id: string | null;
  title: string;
  body: string;
  created_at: Date;
  updated_at: Date;
};

const COLUMNS = 'id, organization_id, author_id, title, body, created_at, updated_at';

function noteJson(row: NoteRow): NoteJson {
  return { ...row, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() };
}

/**
 * SQL of the notes resource. Every function runs inside a `withClaims` transaction: which rows exist
 * for the caller is decided by the row-level security policies, not here.
 */
export const notesRepository = {
  async list(tx: Queryable, limit: number): Promise<NoteJson[]> {
    const { rows } = await tx.query<NoteRow>(`select ${COLUMNS} from public.notes order by created_at desc, id limit $1`, [limit]);
    return rows.map(noteJson);
  },

  async get(tx: Queryable, id: string): Promise<NoteJson | null> {
    const { rows } = await tx.query<NoteRow>(`select ${COLUMNS} from public.notes where id = $1`, [id]);
    return rows[0] ? noteJson(rows[0]) : null;
  },

  async create(tx: Queryable, organizationId: string, authorId: string | null, note: NewNote): Promise<NoteJson> {
    const { rows } = await tx.query<NoteRow>(
      `insert into public.notes (organization_id, author_id, title, body) values ($1, $2, $3, $4) returning ${COLUMNS}`,
      [organizationId, authorId, note.title, note.body ?? ''],
    );
    return noteJson(rows[0]!);
  },

  async update(tx: Queryable, id: string, patch: NotePatch): Promise<NoteJson | null> {
    const { rows } = await tx.query<NoteRow>(
      `update public.notes set title = coalesce($2, title), body = coalesce($3, body), updated_at = now() where id = $1 returning ${COLUMNS}`,
      [id, patch.title ?? null, patch.body ?? null],
    );
    return rows[0] ? noteJson(rows[0]) : null;
  },

  /** Deletes and returns the number of rows removed (0 when hidden or not permitted). */
  async remove(tx: Queryable, id: string): Promise<number> {
    return (await tx.query('delete from public.notes where id = $1 returning id', [id])).rows.length;
  },
};
