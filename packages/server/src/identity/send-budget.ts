import type { FastifyRequest } from 'fastify';
import { IdentityError, type IdentityErrorCode } from './errors.js';
import { clientAddress } from './http/request.js';
import { RateLimiter } from './rate-limit.js';
import type { IdentitySettings } from './settings.js';

/** The limits of one delivery channel (mail or SMS), in GoTrue's terms. */
export interface SendLimits {
  /** Seconds between two messages to one recipient (`…_MAX_FREQUENCY`); 0 turns this limit off. */
  readonly maxFrequency: number;
  /** Messages per client address and hour (`RATE_LIMIT_…_SENT`). */
  readonly perHour: number;
}

/**
 * The sending budget of one channel: one message per recipient per `maxFrequency` seconds, and
 * `perHour` messages per client address. A refusal is 429 with the channel's `code`.
 */
export class SendBudget {
  readonly #limits: SendLimits;
  readonly #code: IdentityErrorCode;
  readonly #clientMessage: string;
  readonly #settings: IdentitySettings;
  readonly #perRecipient: RateLimiter;
  readonly #perClient: RateLimiter;

  constructor(limits: SendLimits, refusal: { code: IdentityErrorCode; clientMessage: string }, settings: IdentitySettings) {
    this.#limits = limits;
    this.#code = refusal.code;
    this.#clientMessage = refusal.clientMessage;
    this.#settings = settings;
    this.#perRecipient = new RateLimiter(limits.maxFrequency === 0 ? 0 : 300 / limits.maxFrequency, 1);
    this.#perClient = new RateLimiter(limits.perHour / 12, Math.max(1, limits.perHour));
  }

  /** Takes one message to each recipient key (`email:…`, `phone:…`) and one for the client address. */
  take(request: FastifyRequest, recipients: readonly string[]): void {
    for (const recipient of recipients) {
      if (!this.#perRecipient.take(recipient)) {
        throw new IdentityError(429, this.#code, `For security purposes, you can only request this after ${this.#limits.maxFrequency} seconds.`);
      }
    }
    if (!this.#perClient.take(`ip:${clientAddress(request, this.#settings)}`)) throw new IdentityError(429, this.#code, this.#clientMessage);
  }
}
