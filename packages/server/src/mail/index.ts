export { loadMailSettings, type MailSettings } from './settings.js';
export { smtpMailer, outboxMailer, readOutbox, outboxJson, type Mailer, type MailMessage, type OutboxMessage } from './mailer.js';
