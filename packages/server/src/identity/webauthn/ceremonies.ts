import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { IdentityError } from '../errors.js';
import type { UserRow } from '../users.js';
import { libraryCredential } from './credentials.js';
import type { CredentialRow, NewCredential } from '../store/webauthn.js';
import type { RelyingParty } from './settings.js';

/** ES256, EdDSA and RS256: what platform authenticators and security keys offer. */
const ALGORITHMS = [-7, -8, -257];

const verificationFailed = () => new IdentityError(400, 'webauthn_verification_failed', 'Credential verification failed');

/** The credential a client sent, shape-checked (400 `webauthn_verification_failed` "Invalid credential response"). */
function credentialJson<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(value: unknown): T {
  const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const response = record?.response;
  if (!record || typeof record.id !== 'string' || typeof record.rawId !== 'string' || typeof response !== 'object' || response === null || Array.isArray(response)) {
    throw new IdentityError(400, 'webauthn_verification_failed', 'Invalid credential response');
  }
  return record as unknown as T;
}

/** The name authenticators show for the account: the email, else the phone, else the id. */
function accountName(user: UserRow): string {
  return user.email || (user.phone ? `+${user.phone}` : user.id);
}

/**
 * Options for `navigator.credentials.create()`: a fresh challenge, the user handle (the user id, as GoTrue
 * sets it), resident keys required (passkeys are discoverable), the user's credentials excluded.
 */
export async function registrationOptions(rp: RelyingParty, user: UserRow, exclude: readonly CredentialRow[], timeoutSeconds: number): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const name = accountName(user);
  const displayName = typeof user.raw_user_meta_data.name === 'string' && user.raw_user_meta_data.name !== '' ? user.raw_user_meta_data.name : name;
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: name,
    userID: new TextEncoder().encode(user.id),
    userDisplayName: displayName,
    timeout: timeoutSeconds * 1000,
    attestationType: 'none',
    excludeCredentials: exclude.map((row) => libraryCredential(row)).map(({ id, transports }) => (transports ? { id, transports } : { id })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

/** Options for `navigator.credentials.get()`: any discoverable credential, or only `allow`. */
export function authenticationOptions(rp: RelyingParty, allow: readonly CredentialRow[], timeoutSeconds: number): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: rp.id,
    timeout: timeoutSeconds * 1000,
    userVerification: 'preferred',
    allowCredentials: allow.map((row) => libraryCredential(row)).map(({ id, transports }) => (transports ? { id, transports } : { id })),
  });
}

/**
 * Verifies a `create()` result against the challenge, the origins and the RP ID; answers what to store.
 * Anything wrong is 400 `webauthn_verification_failed`.
 */
export async function verifyRegistration(
  rp: RelyingParty,
  challenge: string,
  sent: unknown,
  owner: { readonly userId: string; readonly factorId: string | null; readonly friendlyName: string },
): Promise<NewCredential> {
  const response = credentialJson<RegistrationResponseJSON>(sent);
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      requireUserVerification: false,
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch {
    throw verificationFailed();
  }
  if (!verified.verified) throw verificationFailed();
  const info = verified.registrationInfo;
  return {
    userId: owner.userId,
    factorId: owner.factorId,
    credential: info.credential,
    aaguid: info.aaguid,
    attestationType: info.fmt,
    backupEligible: info.credentialDeviceType === 'multiDevice',
    backedUp: info.credentialBackedUp,
    friendlyName: owner.friendlyName,
  };
}

/** The credential id an assertion names (base64url), and the user handle it carries, if any. */
export function assertionIdentity(sent: unknown): { credentialId: string; userHandle: string | null } {
  const response = credentialJson<AuthenticationResponseJSON>(sent);
  const handle = response.response.userHandle;
  let userHandle: string | null = null;
  if (typeof handle === 'string' && handle !== '') userHandle = Buffer.from(handle, 'base64url').toString('utf8');
  return { credentialId: response.rawId, userHandle };
}

/**
 * Verifies a `get()` result made with `credential` against the challenge, origins, RP ID and stored
 * counter (a counter that does not grow is refused); answers the new counter. Anything wrong is 400
 * `webauthn_verification_failed`.
 */
export async function verifyAssertion(rp: RelyingParty, challenge: string, sent: unknown, credential: CredentialRow): Promise<number> {
  const response = credentialJson<AuthenticationResponseJSON>(sent);
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      credential: libraryCredential(credential),
      requireUserVerification: false,
    });
    if (!verified.verified) throw verificationFailed();
    return verified.authenticationInfo.newCounter;
  } catch {
    throw verificationFailed();
  }
}
