import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Creates an empty PostgreSQL database on the server of `adminUrl` (default: `DATABASE_URL`) and
 * returns its URL. Free of the test runner, so benchmarks can use it too.
 */
export async function createPostgresDatabase(
  adminUrl: string | undefined = process.env.DATABASE_URL,
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!adminUrl) throw new Error('DATABASE_URL is not set');
  const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
