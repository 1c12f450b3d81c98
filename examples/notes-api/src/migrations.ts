import { readdirSync, readFileSync } from 'node:fs';

/** One ordered SQL migration of the notes API: `migrations/NNNN_name.sql`. */
export interface NotesMigration {
  /** Sort key and identity within the app, e.g. `0001`. */
  readonly version: string;
  readonly name: string;
  readonly sql: string;
}

/** The package's `migrations/` folder (next to `src/` and `dist/`). */
const FOLDER = new URL('../migrations/', import.meta.url);

function readMigrations(): NotesMigration[] {
  return readdirSync(FOLDER)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file ${file} does not match NNNN_name.sql`);
      return { version: match[1]!, name: match[2]!, sql: readFileSync(new URL(file, FOLDER), 'utf8') };
    });
}

/**
 * The notes API's migrations, oldest first. Each is written to run over a database that already has
 * its objects (databases created before the notes API became an app of its own have them).
 */
export const NOTES_MIGRATIONS: readonly NotesMigration[] = readMigrations();
