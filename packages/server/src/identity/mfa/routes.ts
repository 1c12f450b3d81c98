import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { requireAdmin, requireUser, type UserAuthentication } from '../http/authenticate.js';
import { bodyOf, clientAddress, optionalString } from '../http/request.js';
import { RateLimiter } from '../rate-limit.js';
import type { IdentityRuntime } from '../runtime.js';
import { finishSession } from '../sessions.js';
import { adminTargetUser, isUniqueViolation, isUuid } from '../users.js';
import { consumeTotp, factorJson } from './factors.js';
import { deleteFactor, findFactor, insertFactor, insertTotpChallenge, listFactors, markFactorChallenged, takeTotpChallenge, type FactorRow } from '../store/factors.js';
import { completeFactorVerification } from './verified-factor.js';
import { challengeWebAuthnFactor, verifyWebAuthnFactor } from './webauthn.js';
import { relyingParty, type WebAuthnSettings } from '../webauthn/settings.js';
import { newTotpSecret, qrCodeSvg, totpUri } from './totp.js';
import { userActor } from '../audit/index.js';

/** Seconds a challenge stays answerable (GoTrue's `MFA_CHALLENGE_EXPIRY_DURATION`). */
export const CHALLENGE_EXPIRY_SECONDS = 300;
/** Most factors a user may have (GoTrue's `MFA_MAX_ENROLLED_FACTORS`). */
export const MAX_ENROLLED_FACTORS = 10;

function factorIdParam(value: string): string {
  if (!isUuid(value)) throw new IdentityError(404, 'mfa_factor_not_found', 'Factor not found');
  return value.toLowerCase();
}

async function loadFactor(runtime: IdentityRuntime, userId: string, id: string): Promise<FactorRow> {
  const factor = await findFactor(runtime.db, userId, factorIdParam(id));
  if (!factor) throw new IdentityError(404, 'mfa_factor_not_found', 'Factor not found');
  return factor;
}

function sessionAal(auth: UserAuthentication): string {
  return typeof auth.claims.aal === 'string' ? auth.claims.aal : 'aal1';
}

/** The issuer shown in authenticator apps: the `issuer` asked for, else the site's host name. */
function issuerFor(runtime: IdentityRuntime, requested: string | undefined): string {
  if (requested) return requested;
  const site = runtime.settings.siteUrl ?? runtime.baseUrl();
  try {
    return new URL(site).hostname;
  } catch {
    return 'latchkey';
  }
}

/**
 * TOTP and WebAuthn second factors with GoTrue's API: `POST /factors` (enroll), `POST /factors/{id}/challenge`,
 * `POST /factors/{id}/verify` (aal2 session), `DELETE /factors/{id}`, and for admins
 * `GET /admin/users/{id}/factors`, `DELETE /admin/users/{id}/factors/{factorId}`.
 */
export function registerMfaRoutes(app: FastifyInstance, runtime: IdentityRuntime, deps: { readonly webauthn: WebAuthnSettings }): void {
  const webauthn = {
    runtime,
    settings: deps.webauthn,
    relyingParty: () => relyingParty(deps.webauthn, new URL(runtime.baseUrl()).origin, runtime.settings.siteUrl ?? null),
  };
  // Challenges and verifications per factor and per address: 15 at once, then 15 a minute.
  const attempts = new RateLimiter(75, 15);
  const limit = (key: string) => {
    if (!attempts.take(key)) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
  };

  app.post('/factors', async (request: FastifyRequest) => {
    const auth = await requireUser(runtime, request);
    const body = bodyOf(request);
    const type = optionalString(body, 'factor_type');
    const friendlyName = (optionalString(body, 'friendly_name') ?? '').trim();
    if (type === 'webauthn' && !deps.webauthn.mfaEnrollEnabled) throw new IdentityError(422, 'mfa_webauthn_enroll_not_enabled', 'MFA enroll is disabled for WebAuthn');
    if (type !== 'totp' && type !== 'webauthn') {
      throw validationFailed(type === 'phone' ? `MFA enroll is disabled for ${type}` : 'factor_type needs to be totp or webauthn', 422);
    }
    const factors = await listFactors(runtime.db, auth.user.id);
    const verified = factors.filter((factor) => factor.status === 'verified');
    if (verified.length > 0 && sessionAal(auth) !== 'aal2') throw new IdentityError(403, 'insufficient_aal', 'AAL2 required to enroll a new factor');
    if (verified.length >= MAX_ENROLLED_FACTORS || factors.length >= 2 * MAX_ENROLLED_FACTORS) throw new IdentityError(422, 'too_many_enrolled_mfa_factors', 'Maximum number of verified factors reached, unenroll to continue');
    if (friendlyName !== '' && factors.some((factor) => factor.friendly_name === friendlyName)) {
      throw new IdentityError(422, 'mfa_factor_name_conflict', `A factor with the friendly name "${friendlyName}" for this user already exists`);
    }
    // A WebAuthn factor has no secret: its credential is registered by its first challenge and verification.
    const secret = type === 'totp' ? newTotpSecret() : '';
    const id = randomUUID();
    try {
      await runtime.db.transaction(async (tx) => {
        await insertFactor(tx, { id, userId: auth.user.id, friendlyName, type, secret });
        const traits = { factor_id: id, factor_type: type };
        await runtime.audit.record(tx, { action: 'factor_in_progress', actor: userActor(auth.user), traits, ipAddress: clientAddress(request, runtime.settings) });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdentityError(422, 'mfa_factor_name_conflict', `A factor with the friendly name "${friendlyName}" for this user already exists`);
      throw error;
    }
    if (type === 'webauthn') return { id, type: 'webauthn', friendly_name: friendlyName };
    const uri = totpUri(secret, auth.user.email || auth.user.phone || auth.user.id, issuerFor(runtime, optionalString(body, 'issuer')));
    return { id, type: 'totp', friendly_name: friendlyName, totp: { qr_code: await qrCodeSvg(uri), secret, uri } };
  });

  app.post<{ Params: { id: string } }>('/factors/:id/challenge', async (request) => {
    const auth = await requireUser(runtime, request);
    const factor = await loadFactor(runtime, auth.user.id, request.params.id);
    limit(`${factor.id}`);
    limit(`ip:${clientAddress(request, runtime.settings)}`);
    if (factor.factor_type === 'webauthn') return challengeWebAuthnFactor(webauthn, request, auth, factor);
    const id = randomUUID();
    const created = await runtime.db.transaction(async (tx) => {
      await markFactorChallenged(tx, factor.id);
      const traits = { factor_id: factor.id, factor_status: factor.status };
      await runtime.audit.record(tx, { action: 'challenge_created', actor: userActor(auth.user), traits, ipAddress: clientAddress(request, runtime.settings) });
      return insertTotpChallenge(tx, id, factor.id, clientAddress(request, runtime.settings));
    });
    const createdAt = Math.floor(created.getTime() / 1000);
    return { id, type: 'totp', expires_at: createdAt + CHALLENGE_EXPIRY_SECONDS };
  });

  app.post<{ Params: { id: string } }>('/factors/:id/verify', async (request) => {
    const auth = await requireUser(runtime, request);
    const factor = await loadFactor(runtime, auth.user.id, request.params.id);
    limit(`${factor.id}`);
    if (factor.factor_type === 'webauthn') return verifyWebAuthnFactor(webauthn, request, auth, factor);
    const body = bodyOf(request);
    const challengeId = optionalString(body, 'challenge_id');
    const code = (optionalString(body, 'code') ?? '').trim();
    if (!challengeId || !isUuid(challengeId)) throw validationFailed('challenge_id must be an UUID');
    if (auth.sessionId === null) throw new IdentityError(403, 'session_not_found', Messages.sessionFromClaimMissing);
    const sessionId = auth.sessionId;
    const outcome = await runtime.db.transaction(async (tx) => {
      const challengedAt = await takeTotpChallenge(tx, challengeId.toLowerCase(), factor.id);
      if (!challengedAt) throw new IdentityError(422, 'mfa_factor_not_found', 'MFA factor with the provided challenge ID not found');
      if (challengedAt.getTime() + CHALLENGE_EXPIRY_SECONDS * 1000 < Date.now()) return 'expired' as const;
      const verified = await consumeTotp(tx, factor, code);
      const traits = { factor_id: factor.id, challenge_id: challengeId.toLowerCase(), factor_type: factor.factor_type, success: verified };
      await runtime.audit.record(tx, { action: 'verification_attempted', actor: userActor(auth.user), traits, ipAddress: clientAddress(request, runtime.settings) });
      if (!verified) return 'failed' as const;
      // Sessions below aal2 end when the first factor is verified (GoTrue does the same).
      return completeFactorVerification(tx, runtime, factor, sessionId, 'totp');
    });
    // The challenge is used up either way (deleted in the committed transaction).
    if (outcome === 'expired') {
      throw new IdentityError(422, 'mfa_challenge_expired', `MFA challenge ${challengeId} has expired, verify against another challenge or create a new challenge.`);
    }
    if (outcome === 'failed') throw new IdentityError(422, 'mfa_verification_failed', 'Invalid TOTP code entered');
    if (outcome.ended) await runtime.revocations.announce(outcome.ended);
    return finishSession(runtime.issuer, outcome.prepared);
  });

  app.delete<{ Params: { id: string } }>('/factors/:id', async (request) => {
    const auth = await requireUser(runtime, request);
    const factor = await loadFactor(runtime, auth.user.id, request.params.id);
    if (factor.status === 'verified' && sessionAal(auth) !== 'aal2') throw new IdentityError(422, 'insufficient_aal', 'AAL2 required to unenroll verified factor');
    await runtime.db.transaction(async (tx) => {
      await deleteFactor(tx, factor.id);
      const traits = { factor_id: factor.id, factor_status: factor.status, session_id: auth.sessionId };
      await runtime.audit.record(tx, { action: 'factor_unenrolled', actor: userActor(auth.user), traits, ipAddress: clientAddress(request, runtime.settings) });
    });
    return { id: factor.id };
  });

  app.register(async (admin) => {
    admin.addHook('preHandler', async (request) => {
      await requireAdmin(runtime, request);
    });
    const userOf = (id: string) => adminTargetUser(runtime.db, id);
    admin.get<{ Params: { id: string } }>('/admin/users/:id/factors', async (request) => {
      const user = await userOf(request.params.id);
      return (await listFactors(runtime.db, user.id)).map(factorJson);
    });
    admin.delete<{ Params: { id: string; factorId: string } }>('/admin/users/:id/factors/:factorId', async (request) => {
      const user = await userOf(request.params.id);
      const factor = await loadFactor(runtime, user.id, request.params.factorId);
      await runtime.db.transaction(async (tx) => {
        await deleteFactor(tx, factor.id);
        await runtime.audit.record(tx, { action: 'factor_deleted', actor: userActor(user), traits: { user_id: user.id, factor_id: factor.id }, ipAddress: clientAddress(request, runtime.settings) });
      });
      return factorJson(factor);
    });
  });
}
