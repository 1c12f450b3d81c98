import type { WebAuthnCredential } from '@simplewebauthn/server';
import type { CredentialRow } from '../store/webauthn.js';

/** A passkey as GoTrue lists it (`GET /passkeys`, the admin list, `PATCH`). */
export interface PasskeyJson {
  id: string;
  friendly_name?: string;
  created_at: string;
  last_used_at?: string;
}

export function passkeyJson(row: CredentialRow): PasskeyJson {
  const json: PasskeyJson = { id: row.id, created_at: row.created_at.toISOString() };
  if (row.friendly_name) json.friendly_name = row.friendly_name;
  if (row.last_used_at) json.last_used_at = row.last_used_at.toISOString();
  return json;
}

/** The credential in the form the WebAuthn library verifies assertions with. */
export function libraryCredential(row: CredentialRow): WebAuthnCredential {
  return {
    id: Buffer.from(row.credential_id).toString('base64url'),
    publicKey: new Uint8Array(row.public_key),
    counter: Number(row.sign_count),
    transports: row.transports,
  };
}
