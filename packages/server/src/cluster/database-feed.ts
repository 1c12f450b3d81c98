import type { Database } from '../db/index.js';
import { ClusterListeners, type ClusterBus, type ClusterListener } from './bus.js';

/**
 * The PostgreSQL notification channel on which every change of `auth.signing_keys` is announced (a
 * trigger, migration `0800`), whoever made it: a node, `latchkey keys rotate` on the database directly,
 * or SQL run by hand.
 */
export const SIGNING_KEYS_CHANNEL = 'latchkey_signing_keys';

/**
 * Adds what the database announces to a bus: a change of the signing keys reaches this node's listeners
 * as `keys_changed` the moment it is committed, with or without Redis, and a listening connection that
 * was lost and is back reaches them as `reconnected` (re-read: announcements may have been missed).
 * Returns `bus` itself when the database announces nothing (PGlite: one process owns it).
 */
export async function followDatabase(bus: ClusterBus, db: Database): Promise<ClusterBus> {
  if (!db.listen) return bus;
  const listeners = new ClusterListeners();
  const notifications = await db.listen(SIGNING_KEYS_CHANNEL, {
    notify: () => listeners.message({ type: 'keys_changed' }),
    reconnected: () => listeners.reconnected(),
  });
  return {
    kind: bus.kind,
    publish: (message) => bus.publish(message),
    subscribe(listener: ClusterListener) {
      const fromBus = bus.subscribe(listener);
      const fromDatabase = listeners.add(listener);
      return () => {
        fromBus();
        fromDatabase();
      };
    },
    status: () => bus.status(),
    async close() {
      await notifications.close();
      await bus.close();
    },
  };
}
