/** The webhook variables of the configuration: defaults, the retry schedule's form, refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/config.js';

test('webhook defaults: https only, public addresses only, the Standard Webhooks schedule, 10 s', () => {
  assert.deepEqual(loadConfig({}).webhooks, {
    allowHttp: false,
    allowPrivate: false,
    retrySchedule: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
    timeoutMs: 10_000,
    concurrency: 16,
    retentionDays: 30,
  });
});

test('webhook variables are read and checked', () => {
  const c = loadConfig({
    NELM_WEBHOOK_ALLOW_HTTP: 'true',
    NELM_WEBHOOK_ALLOW_PRIVATE: 'TRUE',
    NELM_WEBHOOK_RETRY_SCHEDULE: '250ms, 2s,1m,1h',
    NELM_WEBHOOK_TIMEOUT: '3',
    NELM_WEBHOOK_CONCURRENCY: '4',
    NELM_WEBHOOK_RETENTION_DAYS: '0',
  }).webhooks;
  assert.deepEqual(c, {
    allowHttp: true,
    allowPrivate: true,
    retrySchedule: [250, 2_000, 60_000, 3_600_000],
    timeoutMs: 3_000,
    concurrency: 4,
    retentionDays: 0,
  });
  assert.throws(() => loadConfig({ NELM_WEBHOOK_RETENTION_DAYS: '-1' }), /NELM_WEBHOOK_RETENTION_DAYS/);
  assert.throws(() => loadConfig({ NELM_WEBHOOK_ALLOW_HTTP: 'yes' }), /NELM_WEBHOOK_ALLOW_HTTP must be 'true' or 'false'/);
  assert.throws(() => loadConfig({ NELM_WEBHOOK_RETRY_SCHEDULE: '5s,soon' }), /NELM_WEBHOOK_RETRY_SCHEDULE must be waits/);
  assert.throws(() => loadConfig({ NELM_WEBHOOK_RETRY_SCHEDULE: '25h' }), /NELM_WEBHOOK_RETRY_SCHEDULE/);
  assert.throws(() => loadConfig({ NELM_WEBHOOK_TIMEOUT: '0' }), /NELM_WEBHOOK_TIMEOUT must be between 1 and 60/);
});
