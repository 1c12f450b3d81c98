export { loadSmsSettings, smsText, type SmsSettings, type SmsProviderName, type TwilioSettings } from './settings.js';
export { outboxSender, readSmsOutbox, smsOutboxJson, SmsSendError, type SmsSender, type SmsMessage, type SmsChannel, type SmsOutboxRow } from './sender.js';
export { twilioSender } from './twilio.js';
