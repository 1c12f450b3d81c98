import path from 'node:path';
import type { DatabaseTarget } from '../config/index.js';
import { redactDatabaseUrl } from '../db/redact.js';

/**
 * A string naming one database, equal for two configurations that reach the same data: the absolute
 * directory of an embedded database, or `postgres://host:port/name` (credentials and options left out).
 * An in-memory database has none.
 */
export function databaseIdentity(target: DatabaseTarget): string | null {
  if (target.kind === 'pglite') return target.dataDir === null ? null : `pglite:${path.resolve(target.dataDir)}`;
  try {
    const url = new URL(target.url);
    const host = url.searchParams.get('host') ?? url.hostname.toLowerCase();
    const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
    return `postgres://${host}:${url.port || '5432'}/${name}`;
  } catch {
    return `postgres:${target.url}`;
  }
}

/** Where the data lives, for people: the directory, or the URL without its password. */
export function databaseLocation(target: DatabaseTarget): string {
  if (target.kind === 'pglite') return target.dataDir === null ? 'in memory' : path.resolve(target.dataDir);
  return redactDatabaseUrl(target.url);
}
