import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, defaultSessionPath } from '@latchkey/client/node';

describe('default paths', () => {
  it('keeps the session under XDG_DATA_HOME and the server under XDG_CONFIG_HOME', () => {
    expect(defaultSessionPath({ XDG_DATA_HOME: '/xdg/data' })).toBe('/xdg/data/latchkey/session.json');
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/xdg/config' })).toBe('/xdg/config/latchkey/config.json');
  });

  it('falls back to ~/.local/share and ~/.config, ignoring relative XDG values as the spec asks', () => {
    expect(defaultSessionPath({})).toBe(path.join(os.homedir(), '.local', 'share', 'latchkey', 'session.json'));
    expect(defaultSessionPath({ XDG_DATA_HOME: 'relative' })).toBe(path.join(os.homedir(), '.local', 'share', 'latchkey', 'session.json'));
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '' })).toBe(path.join(os.homedir(), '.config', 'latchkey', 'config.json'));
  });

  it('LATCHKEY_SESSION_FILE wins', () => {
    expect(defaultSessionPath({ LATCHKEY_SESSION_FILE: '/tmp/s.json', XDG_DATA_HOME: '/xdg' })).toBe('/tmp/s.json');
  });
});
