import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig } from '../src/index.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadServerConfig', () => {
  it('defaults to 127.0.0.1:8000 with embedded PGlite in ./.latchkey', () => {
    const config = loadServerConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8000);
    expect(config.database).toEqual({ kind: 'pglite', dataDir: path.resolve('.latchkey', 'pgdata') });
    expect(config.redisUrl).toBeNull();
    expect(config.shutdownTimeout).toBe(10);
  });

  it('names the variable of a bad port', () => {
    const error = configError(() => loadServerConfig({ PORT: 'abc' }));
    expect(error.variable).toBe('PORT');
    expect(error.message).toBe('PORT: must be a whole number (got "abc")');
    expect(configError(() => loadServerConfig({ PORT: '70000' })).message).toMatch(/^PORT: must be at most 65535/);
  });

  it('lets flags win over the environment and names the flag', () => {
    expect(loadServerConfig({ PORT: '9000' }, { port: '9001' }).port).toBe(9001);
    expect(configError(() => loadServerConfig({}, { port: '-1' })).variable).toBe('--port');
  });

  it('reads PostgreSQL, memory and Redis URLs', () => {
    expect(loadServerConfig({ DATABASE_URL: 'postgres://u@h/db' }).database).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(loadServerConfig({ DATABASE_URL: 'memory://' }).database).toEqual({ kind: 'pglite', dataDir: null });
    expect(loadServerConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisUrl).toBe('redis://127.0.0.1:6379');
    expect(configError(() => loadServerConfig({ DATABASE_URL: 'mysql://x' })).variable).toBe('DATABASE_URL');
    expect(configError(() => loadServerConfig({ REDIS_URL: 'not a url' })).variable).toBe('REDIS_URL');
    expect(loadServerConfig({}).redisPrefix).toBe('latchkey');
    expect(loadServerConfig({ LATCHKEY_REDIS_PREFIX: 'staging.eu' }).redisPrefix).toBe('staging.eu');
    expect(configError(() => loadServerConfig({ LATCHKEY_REDIS_PREFIX: 'a b' })).variable).toBe('LATCHKEY_REDIS_PREFIX');
  });

  it('accepts durations with units and rejects other log levels', () => {
    expect(loadServerConfig({ LATCHKEY_SHUTDOWN_TIMEOUT: '2m' }).shutdownTimeout).toBe(120);
    expect(configError(() => loadServerConfig({ LOG_LEVEL: 'loud' })).variable).toBe('LOG_LEVEL');
  });
});
