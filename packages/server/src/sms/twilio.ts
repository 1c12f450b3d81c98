import { SmsSendError, type SmsSender } from './sender.js';
import type { TwilioSettings } from './settings.js';

/** Seconds to wait for Twilio before the message counts as failed. */
const TIMEOUT_MS = 10_000;

interface TwilioMessage {
  sid?: unknown;
  status?: unknown;
  error_code?: unknown;
  error_message?: unknown;
}

interface TwilioFailure {
  code?: unknown;
  message?: unknown;
}

/**
 * Twilio's Messages API, as GoTrue calls it: `POST <api>/2010-04-01/Accounts/<sid>/Messages.json` with
 * a form body (`To` with its `+`, `From` = the messaging service SID, `Body`, `Channel`) and HTTP Basic
 * authentication (account SID, auth token). A non-2xx answer, or a message `failed`/`undelivered`, is a
 * {@link SmsSendError}; the answer's `sid` is the message id. WhatsApp numbers get the `whatsapp:` prefix.
 */
export function twilioSender(settings: TwilioSettings, fetchImpl: typeof fetch = fetch): SmsSender {
  const url = `${settings.apiUrl}/2010-04-01/Accounts/${encodeURIComponent(settings.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${settings.accountSid}:${settings.authToken}`).toString('base64')}`;
  return {
    kind: 'twilio',
    async send(message) {
      const whatsapp = message.channel === 'whatsapp';
      const to = whatsapp ? `whatsapp:+${message.to}` : `+${message.to}`;
      const from = whatsapp && /^\+?[1-9]\d{1,14}$/.test(settings.messageServiceSid) ? `whatsapp:${settings.messageServiceSid}` : settings.messageServiceSid;
      const form = new URLSearchParams({ To: to, Channel: message.channel, From: from, Body: message.body });
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form.toString(),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        throw new SmsSendError(`the SMS provider could not be reached: ${(error as Error).message}`);
      }
      const text = await response.text();
      let answer: (TwilioMessage & TwilioFailure) | null = null;
      try {
        answer = JSON.parse(text) as TwilioMessage & TwilioFailure;
      } catch {
        answer = null;
      }
      if (response.status !== 200 && response.status !== 201) {
        const reason = typeof answer?.message === 'string' ? answer.message : `HTTP ${response.status}`;
        throw new SmsSendError(reason);
      }
      if (!answer || typeof answer.sid !== 'string') throw new SmsSendError('the SMS provider answered without a message id');
      if (answer.status === 'failed' || answer.status === 'undelivered') {
        throw new SmsSendError(`twilio error: ${String(answer.error_message ?? '')} ${String(answer.error_code ?? '')} for message ${answer.sid}`.replace(/\s+/g, ' '));
      }
      return answer.sid;
    },
  };
}
