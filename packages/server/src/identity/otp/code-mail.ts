import type { FastifyRequest } from 'fastify';
import type { Mailer, MailMessage } from '../../mail/index.js';
import { redirectTarget } from '../redirects.js';
import type { IdentityRuntime } from '../runtime.js';
import { SendBudget } from '../send-budget.js';
import type { MailKind } from './messages.js';
import type { OtpSettings } from './settings.js';

/**
 * Sending one-time codes by mail, shared by the code routes (`/otp`, `/recover`, …) and the user routes
 * (email change, reauthentication): the mail budget (per address and per client address), the link to
 * `GET /verify`, and delivery after the answer. Built once per service.
 */
export class CodeMailer {
  readonly settings: OtpSettings;
  readonly #runtime: IdentityRuntime;
  readonly #mailer: Mailer;
  readonly #budget: SendBudget;

  constructor(runtime: IdentityRuntime, mailer: Mailer, settings: OtpSettings) {
    this.settings = settings;
    this.#runtime = runtime;
    this.#mailer = mailer;
    this.#budget = new SendBudget(
      { maxFrequency: settings.maxFrequency, perHour: settings.emailsPerHour },
      { code: 'over_email_send_rate_limit', clientMessage: 'email rate limit exceeded' },
      runtime.settings,
    );
  }

  /** Where links lead when no allowed `redirect_to` was asked for: the site URL, else the public origin. */
  siteUrl(): string {
    return this.#runtime.settings.siteUrl ?? new URL(this.#runtime.baseUrl()).origin;
  }

  /** The allowed target for a requested `redirect_to` (see `redirects.ts`). */
  redirect(requested: string | undefined): string {
    return redirectTarget(requested, this.siteUrl(), this.settings.uriAllowList);
  }

  /** Takes one mail to each of `emails` from the budget, or throws 429 `over_email_send_rate_limit`. */
  takeBudget(request: FastifyRequest, ...emails: string[]): void {
    this.#budget.take(request, emails.map((email) => `email:${email}`));
  }

  /** The emailed link: `<base>/verify?token=<hash>&type=<type>&redirect_to=<allowed target>`. */
  link(hash: string, type: string, redirectTo: string | undefined): string {
    const link = new URL(`${this.#runtime.baseUrl()}/verify`);
    link.searchParams.set('token', hash);
    link.searchParams.set('type', type);
    link.searchParams.set('redirect_to', this.redirect(redirectTo));
    return link.toString();
  }

  /** Delivers `message` without waiting; a failure is logged (never the message) and changes no answer. */
  send(message: MailMessage, kind: MailKind): void {
    void this.#mailer.send(message).catch((error: unknown) => {
      this.#runtime.logger.error({ reason: error instanceof Error ? error.message : String(error), kind }, 'mail delivery failed');
    });
  }
}
