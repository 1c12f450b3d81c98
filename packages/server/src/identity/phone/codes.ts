import type { FastifyRequest } from 'fastify';
import { SmsSendError, smsText, type SmsChannel, type SmsSender, type SmsSettings } from '../../sms/index.js';
import { IdentityError, validationFailed } from '../errors.js';
import { optionalString } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';
import { SendBudget } from '../send-budget.js';
import { issueOneTimeToken, type OneTimeTokenType } from '../otp/tokens.js';
import { deleteSentToken } from '../store/one-time-tokens.js';
import { markConfirmationSent } from '../store/users.js';

/** What a texted code is for: signing in (and confirming the number), or confirming a new number. */
export type PhoneCodeType = Extract<OneTimeTokenType, 'confirmation' | 'phone_change'>;

/** The channel of a request (`sms` when absent); another value is 400 `validation_failed`. */
export function channelOf(body: Record<string, unknown>): SmsChannel {
  const channel = optionalString(body, 'channel') ?? 'sms';
  if (channel !== 'sms' && channel !== 'whatsapp') throw validationFailed("Invalid channel, supported values are 'sms' or 'whatsapp'");
  return channel;
}

/**
 * Texting one-time codes, shared by the code routes (`/otp`, `/resend`, `/signup`) and `PUT /user`:
 * the budget (one message per number per `SMS_MAX_FREQUENCY`, `RATE_LIMIT_SMS_SENT` per client address
 * and hour, as for mailed codes), the token, and delivery through the configured sender. Built once per
 * service.
 */
export class PhoneCodes {
  readonly settings: SmsSettings;
  readonly #runtime: IdentityRuntime;
  readonly #sender: SmsSender;
  readonly #budget: SendBudget;

  constructor(runtime: IdentityRuntime, sender: SmsSender, settings: SmsSettings) {
    this.settings = settings;
    this.#runtime = runtime;
    this.#sender = sender;
    this.#budget = new SendBudget(
      { maxFrequency: settings.maxFrequency, perHour: settings.smsPerHour },
      { code: 'over_sms_send_rate_limit', clientMessage: 'SMS rate limit exceeded' },
      runtime.settings,
    );
  }

  /** Which sender texts the codes. */
  get senderKind(): SmsSender['kind'] {
    return this.#sender.kind;
  }

  /** Takes one message to `phone` from the budget, or throws 429 `over_sms_send_rate_limit`. */
  takeBudget(request: FastifyRequest, phone: string): void {
    this.#budget.take(request, [`phone:${phone}`]);
  }

  /**
   * Issues a code of `type` for `userId` bound to `phone` (replacing the user's previous one of that
   * type) and texts it; answers the provider's message id. When the provider fails the code is withdrawn
   * and the answer is 422 `sms_send_failed`. The caller takes the message from the budget first.
   */
  async send(userId: string, type: PhoneCodeType, phone: string, channel: SmsChannel): Promise<string> {
    const issued = await this.#runtime.db.transaction(async (tx) => {
      const token = await issueOneTimeToken(tx, userId, type, phone, null);
      if (type === 'confirmation') await markConfirmationSent(tx, userId);
      return token;
    });
    try {
      return await this.#sender.send({ to: phone, body: smsText(this.settings.template, issued.otp), channel });
    } catch (error) {
      await deleteSentToken(this.#runtime.db, userId, type, phone);
      const reason = error instanceof SmsSendError ? error.message : 'the SMS provider failed';
      this.#runtime.logger.error({ reason, type }, 'SMS delivery failed');
      throw new IdentityError(422, 'sms_send_failed', `Error sending ${type === 'phone_change' ? 'phone_change' : 'confirmation'} OTP to provider: ${reason}`);
    }
  }
}
