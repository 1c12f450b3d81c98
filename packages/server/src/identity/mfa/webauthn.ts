import type { FastifyRequest } from 'fastify';
import { userActor } from '../audit/index.js';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import type { UserAuthentication } from '../http/authenticate.js';
import { bodyOf, clientAddress, optionalString } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';
import { finishSession } from '../sessions.js';
import type { TokenResponse } from '../types.js';
import { isUniqueViolation, isUuid } from '../users.js';
import { assertionIdentity, authenticationOptions, registrationOptions, verifyAssertion, verifyRegistration } from '../webauthn/ceremonies.js';
import { storeChallenge } from '../webauthn/challenges.js';
import { allCredentials, consumeChallenge, insertCredential, listCredentials, recordUse } from '../store/webauthn.js';
import type { RelyingParty, WebAuthnSettings } from '../webauthn/settings.js';
import { markFactorChallenged, type FactorRow } from '../store/factors.js';
import { completeFactorVerification } from './verified-factor.js';

/** What the WebAuthn factor handlers need besides the runtime. */
export interface WebAuthnFactorContext {
  readonly runtime: IdentityRuntime;
  readonly settings: WebAuthnSettings;
  relyingParty(): RelyingParty;
}

/** 422 `mfa_webauthn_verify_not_enabled` when WebAuthn factors may not be challenged or verified. */
export function requireWebAuthnVerify(settings: WebAuthnSettings): void {
  if (!settings.mfaVerifyEnabled) throw new IdentityError(422, 'mfa_webauthn_verify_not_enabled', 'MFA verification is disabled for WebAuthn');
}

/**
 * `POST /factors/{id}/challenge` for a WebAuthn factor: an unverified factor gets registration options
 * (`webauthn.type: "create"`), a verified one options to sign with its credential (`"request"`), under
 * `webauthn.credential_options.publicKey` as GoTrue answers. The challenge is bound to the factor, the
 * user and the session.
 */
export async function challengeWebAuthnFactor(context: WebAuthnFactorContext, request: FastifyRequest, auth: UserAuthentication, factor: FactorRow): Promise<Record<string, unknown>> {
  const { runtime, settings } = context;
  requireWebAuthnVerify(settings);
  const binding = { userId: auth.user.id, sessionId: auth.sessionId, factorId: factor.id };
  const create = factor.status !== 'verified';
  const publicKey = create
    ? await registrationOptions(context.relyingParty(), auth.user, await allCredentials(runtime.db, auth.user.id), settings.challengeExpiry)
    : await authenticationOptions(context.relyingParty(), await listCredentials(runtime.db, auth.user.id, factor.id), settings.challengeExpiry);
  const stored = await runtime.db.transaction(async (tx) => {
    await markFactorChallenged(tx, factor.id);
    const traits = { factor_id: factor.id, factor_status: factor.status };
    await runtime.audit.record(tx, { action: 'challenge_created', actor: userActor(auth.user), traits, ipAddress: clientAddress(request, runtime.settings) });
    return storeChallenge(tx, create ? 'registration' : 'authentication', publicKey.challenge, binding, settings.challengeExpiry);
  });
  return { id: stored.id, type: 'webauthn', expires_at: stored.expiresAt, webauthn: { type: create ? 'create' : 'request', credential_options: { publicKey } } };
}

/** `webauthn` of a verify body: `{type: "create" | "request", credential_response}` (GoTrue's messages). */
function webauthnParams(body: Record<string, unknown>): { type: 'create' | 'request'; response: unknown } {
  const params = body.webauthn;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw validationFailed('WebAuthn config required');
  const { type, credential_response: response } = params as Record<string, unknown>;
  if (type !== 'create' && type !== 'request') throw validationFailed('WebAuthn type must be create or request');
  if (response === undefined || response === null) throw validationFailed('credential_response required');
  return { type, response };
}

/**
 * `POST /factors/{id}/verify` for a WebAuthn factor: `create` registers the factor's credential and
 * verifies the factor, `request` checks an assertion made with it (signature, origin, RP ID, growing
 * counter). Either way the session steps up to aal2 (`amr` `mfa/webauthn`). The challenge is used up
 * whatever the outcome.
 */
export async function verifyWebAuthnFactor(context: WebAuthnFactorContext, request: FastifyRequest, auth: UserAuthentication, factor: FactorRow): Promise<TokenResponse> {
  const { runtime, settings } = context;
  requireWebAuthnVerify(settings);
  const body = bodyOf(request);
  const challengeId = optionalString(body, 'challenge_id');
  if (!challengeId || !isUuid(challengeId)) throw validationFailed('challenge_id must be an UUID');
  const params = webauthnParams(body);
  if (auth.sessionId === null) throw new IdentityError(403, 'session_not_found', Messages.sessionFromClaimMissing);
  const sessionId = auth.sessionId;
  const consumed = await consumeChallenge(runtime.db, challengeId.toLowerCase(), params.type === 'create' ? 'registration' : 'authentication', {
    userId: auth.user.id,
    sessionId,
    factorId: factor.id,
  });
  if (!consumed) throw new IdentityError(422, 'mfa_factor_not_found', 'MFA factor with the provided challenge ID not found');
  if (consumed.expired) {
    throw new IdentityError(422, 'mfa_challenge_expired', `MFA challenge ${challengeId} has expired, verify against another challenge or create a new challenge.`);
  }
  const audit = (success: boolean) => ({
    action: 'verification_attempted' as const,
    actor: userActor(auth.user),
    traits: { factor_id: factor.id, challenge_id: challengeId.toLowerCase(), factor_type: 'webauthn', success },
    ipAddress: clientAddress(request, runtime.settings),
  });
  const fail = async (error: IdentityError): Promise<never> => {
    await runtime.audit.record(runtime.db, audit(false));
    throw error;
  };
  const rp = context.relyingParty();
  if (params.type === 'create') {
    const created = await verifyRegistration(rp, consumed.challenge, params.response, { userId: auth.user.id, factorId: factor.id, friendlyName: factor.friendly_name }).catch(fail);
    try {
      const { prepared, ended } = await runtime.db.transaction(async (tx) => {
        await insertCredential(tx, created);
        await runtime.audit.record(tx, audit(true));
        return completeFactorVerification(tx, runtime, factor, sessionId, 'mfa/webauthn');
      });
      if (ended) await runtime.revocations.announce(ended);
      return await finishSession(runtime.issuer, prepared);
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdentityError(422, 'webauthn_credential_exists', 'This credential is already registered');
      throw error;
    }
  }
  const [credential] = await listCredentials(runtime.db, auth.user.id, factor.id);
  const named = assertionIdentity(params.response);
  if (!credential || named.credentialId !== Buffer.from(credential.credential_id).toString('base64url')) {
    return fail(new IdentityError(400, 'webauthn_verification_failed', 'Credential verification failed'));
  }
  const counter = await verifyAssertion(rp, consumed.challenge, params.response, credential).catch(fail);
  const { prepared, ended } = await runtime.db.transaction(async (tx) => {
    if (!(await recordUse(tx, credential.id, counter))) throw new IdentityError(400, 'webauthn_verification_failed', 'Credential verification failed');
    await runtime.audit.record(tx, audit(true));
    return completeFactorVerification(tx, runtime, factor, sessionId, 'mfa/webauthn');
  });
  if (ended) await runtime.revocations.announce(ended);
  return finishSession(runtime.issuer, prepared);
}
