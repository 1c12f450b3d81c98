import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test-support/databases.js';
import { loadServerConfig } from '../../src/config/index.js';
import { mountGateway } from '../../src/gateway/index.js';
import type { AppContext } from '../../src/http/context.js';
import { identityTokens } from '../../src/identity/service.js';
import { loadIdentitySettings } from '../../src/identity/settings.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Revocations } from '../../src/revocation/types.js';

describe('gateway start', () => {
  it('refuses to start when the stored revocation events cannot be read, and stops listening for live ones', async () => {
    const database = await createTestDatabase('pglite');
    let listeners = 0;
    const revocations: Revocations = {
      record: () => Promise.reject(new Error('unused')),
      announce: async () => undefined,
      emit: () => Promise.reject(new Error('unused')),
      subscribe: () => {
        listeners += 1;
        return () => {
          listeners -= 1;
        };
      },
      since: () => Promise.reject(new Error('database unavailable')),
      close: async () => undefined,
    };
    const env = { PORT: '0', DATABASE_URL: 'memory://' };
    const context: AppContext = {
      config: loadServerConfig(env),
      env,
      db: database.db,
      logger: createLogger('silent'),
      revocations,
      publicUrl: () => 'http://127.0.0.1:1',
    };
    const app = Fastify();
    try {
      await expect(mountGateway(app, context, { tokens: identityTokens(loadIdentitySettings(env), context), identity: null })).rejects.toThrow('database unavailable');
      expect(listeners).toBe(0);
    } finally {
      await app.close();
      await database.dispose();
    }
  });
});
