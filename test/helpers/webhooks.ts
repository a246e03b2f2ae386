/**
 * A webhook receiver for the tests: the receiver of bench/lib/webhooks.ts (a real HTTP server on
 * 127.0.0.1 that keeps every request it gets and answers as the test says: a status, a redirect,
 * or nothing at all), with `sleep` and `until`. `verify` checks a request with the Standard
 * Webhooks reference library, as a receiver would.
 */
import { Webhook } from 'standardwebhooks';
import type { Received } from '../../bench/lib/webhooks.js';

export { type Answer, type Received, type Receiver, sleep, startReceiver, until } from '../../bench/lib/webhooks.js';

/** Verifies a request as a receiver does (throws when the signature does not verify); its payload. */
export function verify(secret: string, got: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  return new Webhook(secret).verify(got.body, {
    'webhook-id': got.id,
    'webhook-timestamp': got.timestamp,
    'webhook-signature': got.signature,
  }) as { type: string; timestamp: string; data: Record<string, unknown> };
}
