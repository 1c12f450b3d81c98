/**
 * A software WebAuthn authenticator for tests in Node: ES256 (P-256) credentials made with node:crypto,
 * `none` attestation, discoverable credentials (the user handle is kept and returned), a signature counter
 * per credential. It answers the JSON forms that `navigator.credentials.create()` / `.get()` results take
 * once serialised (`RegistrationResponseJSON`, `AuthenticationResponseJSON`), which is what supabase-js's
 * `auth.passkey.*` and `mfa.verify({ webauthn })` send. Each ceremony can be bent (another origin, another
 * RP ID, a counter set back) to test the refusals.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** What a relying party asks `create()` for (the JSON options, as a server sends them). */
export interface CreationOptionsJSON {
  readonly challenge: string;
  readonly rp: { readonly id?: string; readonly name: string };
  readonly user: { readonly id: string; readonly name: string; readonly displayName: string };
  readonly excludeCredentials?: ReadonlyArray<{ readonly id: string }>;
}

/** What a relying party asks `get()` for. */
export interface RequestOptionsJSON {
  readonly challenge: string;
  readonly rpId?: string;
  readonly allowCredentials?: ReadonlyArray<{ readonly id: string }>;
}

/** How to bend one ceremony (defaults: the authenticator's origin, the options' RP ID). */
export interface CeremonyOverrides {
  readonly origin?: string;
  readonly rpId?: string;
  /** Sign with this counter value (and keep it), e.g. a lower one than last time. */
  readonly signCount?: number;
  /** Use this credential (by id) even when the options do not allow it. */
  readonly credentialId?: string;
  /** Report the given type in the client data instead of `webauthn.create` / `webauthn.get`. */
  readonly type?: string;
}

export interface RegistrationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: string[]; publicKeyAlgorithm: number; authenticatorData: string };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform';
}

export interface AuthenticationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform';
}

interface StoredCredential {
  readonly id: Buffer;
  readonly rpId: string;
  readonly userHandle: Buffer;
  readonly privateKey: KeyObject;
  signCount: number;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** The CBOR values this authenticator writes. */
type Cbor = number | string | Uint8Array | Map<number | string, Cbor>;

function cborHead(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value]);
  if (value < 0x10000) return Buffer.from([(major << 5) | 25, value >> 8, value & 0xff]);
  const head = Buffer.alloc(5);
  head[0] = (major << 5) | 26;
  head.writeUInt32BE(value, 1);
  return head;
}

/** Encodes the subset of CBOR (RFC 8949) WebAuthn needs: integers, text, bytes and maps. */
export function cborEncode(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, text.length), text]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value]);
  const parts = [cborHead(5, value.size)];
  for (const [key, item] of value) parts.push(cborEncode(key), cborEncode(item));
  return Buffer.concat(parts);
}

/** The COSE_Key (EC2, ES256) of a P-256 public key. */
function coseKey(privateKey: KeyObject): Buffer {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return cborEncode(
    new Map<number, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]),
  );
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

function authenticatorData(rpId: string, flags: number, signCount: number, attested?: Buffer): Buffer {
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(signCount >>> 0);
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), counter, ...(attested ? [attested] : [])]);
}

/** A software authenticator bound to one origin (the page's origin a browser would report). */
export class SoftwareAuthenticator {
  readonly origin: string;
  readonly #credentials: StoredCredential[] = [];

  constructor(origin: string) {
    this.origin = origin;
  }

  /** The ids (base64url) of the credentials made so far, oldest first. */
  get credentialIds(): string[] {
    return this.#credentials.map((credential) => b64url(credential.id));
  }

  /** The counter of a credential (as the authenticator last signed it). */
  signCount(credentialId: string): number {
    return this.#find(credentialId).signCount;
  }

  /** Makes a new credential for the options' RP and user: what `navigator.credentials.create()` answers. */
  create(options: CreationOptionsJSON, overrides: CeremonyOverrides = {}): RegistrationResponseJSON {
    const rpId = overrides.rpId ?? options.rp.id ?? new URL(this.origin).hostname;
    const excluded = new Set((options.excludeCredentials ?? []).map((entry) => entry.id));
    if (this.#credentials.some((credential) => credential.rpId === rpId && excluded.has(b64url(credential.id)))) {
      throw new Error('InvalidStateError: the authenticator already holds an excluded credential');
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const credential: StoredCredential = { id: randomBytes(32), rpId, userHandle: Buffer.from(options.user.id, 'base64url'), privateKey, signCount: overrides.signCount ?? 0 };
    this.#credentials.push(credential);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, credential.id, coseKey(privateKey)]);
    const authData = authenticatorData(rpId, FLAG_UP | FLAG_UV | FLAG_AT, credential.signCount, attested);
    const clientData = JSON.stringify({ type: overrides.type ?? 'webauthn.create', challenge: options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false });
    const attestationObject = cborEncode(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(Buffer.from(clientData)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
        publicKeyAlgorithm: -7,
        authenticatorData: b64url(authData),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * Signs the options' challenge with a credential for the RP (the newest allowed one, or any
   * discoverable one when the options allow all): what `navigator.credentials.get()` answers.
   */
  get(options: RequestOptionsJSON, overrides: CeremonyOverrides = {}): AuthenticationResponseJSON {
    const requested = options.rpId ?? new URL(this.origin).hostname;
    const rpId = overrides.rpId ?? requested;
    const allowed = new Set((options.allowCredentials ?? []).map((entry) => entry.id));
    const credential = overrides.credentialId
      ? this.#find(overrides.credentialId)
      : [...this.#credentials].reverse().find((candidate) => candidate.rpId === requested && (allowed.size === 0 || allowed.has(b64url(candidate.id))));
    if (!credential) throw new Error('NotAllowedError: no credential for this relying party');
    credential.signCount = overrides.signCount ?? credential.signCount + 1;
    const authData = authenticatorData(rpId, FLAG_UP | FLAG_UV, credential.signCount);
    const clientData = Buffer.from(JSON.stringify({ type: overrides.type ?? 'webauthn.get', challenge: options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), credential.privateKey);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: b64url(credential.userHandle),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  #find(credentialId: string): StoredCredential {
    const credential = this.#credentials.find((candidate) => b64url(candidate.id) === credentialId);
    if (!credential) throw new Error(`no credential ${credentialId}`);
    return credential;
  }
}
