/** The mail an endpoint's owner gets when the server disables the endpoint. */
import { asOneLine } from '../../domain/text.js';
import type { OutboxEntry } from '../notifications/model.js';

export const WEBHOOK_DISABLED = 'WEBHOOK_DISABLED';

export function webhookDisabled(ownerId: string, webhook: { id: string; url: string }, reason: string): OutboxEntry {
  const url = asOneLine(webhook.url);
  return {
    kind: WEBHOOK_DISABLED,
    recipientId: ownerId,
    subject: asOneLine(`Webhook disabled: ${url}`),
    body: [
      `The webhook endpoint ${url} (${webhook.id}) was disabled: ${asOneLine(reason)}.`,
      'Events are no longer sent to it; its deliveries not yet made wait until it is enabled again.',
      'Once the receiver works, enable it with:',
      `  PATCH /admin/v1/webhooks/${webhook.id}   {"enabled": true}`,
      `Its delivery log: GET /admin/v1/webhooks/${webhook.id}/deliveries`,
      '',
    ].join('\n'),
  };
}
