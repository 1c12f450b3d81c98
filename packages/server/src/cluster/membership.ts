import { randomUUID } from 'node:crypto';
import { ConfigError } from '../config/index.js';
import type { Database } from '../db/index.js';
import { describeSetting, type SharedSetting } from './settings.js';

/** Advisory lock key serialising joins, so two nodes starting together compare against each other. */
const JOIN_LOCK = 7_362_114_103;

/** Options of {@link joinCluster}. */
export interface JoinOptions {
  readonly db: Database;
  /** The URL this node listens on (shown to operators of a refused node). */
  readonly url: string;
  readonly settings: readonly SharedSetting[];
  /** Seconds between heartbeats. Default 5. */
  readonly heartbeat?: number;
  /** A node not heard from for this many seconds has stopped. Default 15. */
  readonly staleAfter?: number;
}

/** This node's place among the running nodes; `leave()` removes it. */
export interface ClusterMembership {
  readonly nodeId: string;
  leave(): Promise<void>;
}

interface NodeRow {
  readonly node_id: string;
  readonly url: string;
  readonly settings: unknown;
}

/**
 * Compares this node's shared settings with those of every running node on the same database, and joins
 * when they agree. Settings are compared by key (so `GOTRUE_JWT_AUD` on one node and `LATCHKEY_JWT_AUD` on
 * another compare as the same setting). Throws {@link ConfigError} naming the
 * first setting that differs, before this node serves anything signed or verified with it.
 */
export async function joinCluster(options: JoinOptions): Promise<ClusterMembership> {
  const heartbeat = options.heartbeat ?? 5;
  const staleAfter = options.staleAfter ?? 15;
  const nodeId = randomUUID();
  const mine = JSON.stringify(options.settings);
  await options.db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [JOIN_LOCK]);
    await tx.query(`delete from latchkey.cluster_nodes where seen_at < now() - make_interval(secs => $1)`, [staleAfter]);
    const { rows } = await tx.query<NodeRow & Record<string, unknown>>('select node_id, url, settings from latchkey.cluster_nodes order by started_at');
    for (const row of rows) {
      const theirs = new Map<string, unknown>();
      for (const item of Array.isArray(row.settings) ? (row.settings as unknown[]) : []) {
        if (typeof item === 'object' && item !== null && 'key' in item && 'value' in item) theirs.set(String(item.key), item.value);
      }
      for (const setting of options.settings) {
        // A setting the other node does not know (an older version) is not compared.
        if (theirs.has(setting.key) && theirs.get(setting.key) !== setting.value) {
          throw new ConfigError(setting.name, `differs from the running node at ${row.url} (this node has ${describeSetting(setting)}); every node sharing this database must be set alike`);
        }
      }
    }
    await tx.query('insert into latchkey.cluster_nodes (node_id, url, settings) values ($1, $2, $3)', [nodeId, options.url, mine]);
  });
  const beat = setInterval(() => {
    options.db
      .query(
        `insert into latchkey.cluster_nodes (node_id, url, settings) values ($1, $2, $3)
         on conflict (node_id) do update set seen_at = now()`,
        [nodeId, options.url, mine],
      )
      .catch(() => undefined);
  }, heartbeat * 1000);
  beat.unref();
  return {
    nodeId,
    async leave() {
      clearInterval(beat);
      await options.db.query('delete from latchkey.cluster_nodes where node_id = $1', [nodeId]).catch(() => undefined);
    },
  };
}
