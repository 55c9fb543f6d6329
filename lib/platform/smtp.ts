// The mailer and the SMTP transport alone: nodemailer's entry point also loads its pool, sendmail, SES,
// stream and JSON transports and the Ethereal client, ~20 kB in every bundle that sends mail.
import Mail from 'nodemailer/lib/mailer';
import SMTPTransport from 'nodemailer/lib/smtp-transport';
import { config } from './config';
import { serviceUnavailable } from '../errors';
import type { Mailer } from '../accounts/mail';

/** One SMTP transport per container; short timeouts so an unreachable server is a quick 503. */
const transportOptions = { url: config().mail.smtpUrl, connectionTimeout: 3000, greetingTimeout: 3000, socketTimeout: 5000 };
const transport = new Mail(new SMTPTransport(transportOptions), transportOptions);

export const smtpMailer: Mailer = {
  async send({ to, subject, text, html }) {
    try {
      await transport.sendMail({ from: config().mail.from, to, subject, text, html, disableFileAccess: true, disableUrlAccess: true });
    } catch (error) {
      throw serviceUnavailable('mail server', error);
    }
  },
  async check() {
    try {
      await transport.verify();
    } catch (error) {
      throw serviceUnavailable('mail server', error);
    }
  },
};

/** The mailer the functions use; a test may swap it for one that fails on purpose. */
export const delivery: { mailer: Mailer } = { mailer: smtpMailer };
