import { createTransport, type Transporter } from 'nodemailer';
import { NotificationEvent } from '../../common/enums';
import { plainAddress } from './address';
import { alertFacts } from './format';
import type { Notifier, OutboundAlert } from './notifier';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface EmailNotifierDeps {
  /** SMTP_URL. */
  smtpUrl: string;
  /** The From address. */
  from: string;
  /** Connection, greeting and socket timeout, unless the URL sets them. */
  timeoutMs: number;
}

/**
 * E-mail over SMTP (nodemailer), plain text and HTML. The `Message-ID` is
 * derived from the delivery id, so a repeated attempt is the same message to
 * mail servers and clients that drop duplicates by it.
 */
export class EmailNotifier implements Notifier {
  private readonly transport: Transporter;

  private readonly from: string;

  constructor({ smtpUrl, from, timeoutMs }: EmailNotifierDeps) {
    this.from = from;
    const url = new URL(smtpUrl);
    for (const [k, v] of Object.entries({ connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs })) {
      if (!url.searchParams.has(k)) url.searchParams.set(k, String(v));
    }
    this.transport = createTransport(url.toString());
  }

  async send(n: OutboundAlert): Promise<void> {
    // Checked again here: nodemailer would read "Name <x@y>" or "a,b@c" as other or several addresses.
    const to = plainAddress(n.recipient);
    if (to === null) throw new Error('the recipient is not one plain e-mail address; nothing sent');
    await this.transport.sendMail({ from: this.from, to, messageId: emailMessageId(n.deliveryId), ...emailContent(n) });
  }

  close(): void {
    this.transport.close();
  }
}

export const emailMessageId = (deliveryId: string) => `<${deliveryId}@budget-gateway>`;

export function emailContent(n: OutboundAlert): { subject: string; text: string; html: string } {
  const f = alertFacts(n.alert, n.budget);
  const prefix = n.event === NotificationEvent.RESOLVE ? '[RESOLVED] ' : '';
  const rows: [string, string | null][] = [
    ['Budget', f.budgetName],
    ['Type', f.budgetType],
    ['Usage vs limit', f.usage],
    ['Percentage', f.percentage],
    ['Action taken', f.actionTaken],
    ['Provider/model', f.providerModel],
    ['Scope', f.scope],
    ['Alert id', n.alert.id],
  ];
  const present = rows.filter((r): r is [string, string] => r[1] !== null);
  return {
    subject: `${prefix}[${n.alert.severity}] ${f.title}`,
    text: `${prefix}${n.alert.message}\n\n${present.map(([k, v]) => `${k}: ${v}`).join('\n')}\n`,
    html: `<p>${esc(prefix + n.alert.message)}</p><table>${present.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`,
  };
}
