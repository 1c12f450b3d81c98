import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export const ISSUER = 'https://id.example.test/auth/v1';
export const AUDIENCE = 'authenticated';
export const HMAC_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

export interface SigningKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Generates a key pair for `alg`; the public JWK carries `kid`, `alg` and `use`. */
export async function signingKey(alg: 'ES256' | 'RS256' | 'EdDSA' | 'PS256' | 'ES384', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Mints a token with standard claims (iss, aud, sub, iat, exp in 1 h) merged with `claims`; a claim
 * given as `undefined` is left out.
 */
export async function mint(
  key: SigningKey | { alg: 'HS256'; secret: string | Uint8Array; kid?: string },
  claims: { [K in keyof JWTPayload]?: JWTPayload[K] | undefined } = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = nowSeconds();
  const merged = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: now, exp: now + 3600, ...claims };
  const payload: JWTPayload = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: key.alg, ...(key.kid ? { kid: key.kid } : {}), typ: 'JWT', ...header });
  if ('secret' in key) return jwt.sign(typeof key.secret === 'string' ? new TextEncoder().encode(key.secret) : key.secret);
  return jwt.sign(key.privateKey);
}

/** A real HTTP server publishing a JWKS, counting requests; its answer can be changed at will. */
export interface JwksServer {
  readonly url: string;
  readonly fetches: number;
  keys: JWK[];
  /** 200 serves the keys; any other status answers with it; `'hang'` never answers. */
  mode: 200 | 500 | 404 | 'hang';
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let fetches = 0;
  const hanging = new Set<ServerResponse>();
  const state = {
    keys,
    mode: 200 as JwksServer['mode'],
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    fetches += 1;
    if (state.mode === 'hang') {
      hanging.add(response);
      return;
    }
    if (state.mode !== 200) {
      response.writeHead(state.mode, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
    void request;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return fetches;
    },
    get keys() {
      return state.keys;
    },
    set keys(value) {
      state.keys = value;
    },
    get mode() {
      return state.mode;
    },
    set mode(value) {
      state.mode = value;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Base64url of a JSON value, for hand-built tokens. */
export function segment(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** A mutable clock for the verifier's `now` option. */
export function manualClock(start = Date.now()): { now: () => number; advance(ms: number): void; set(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
    set(ms) {
      current = ms;
    },
  };
}
