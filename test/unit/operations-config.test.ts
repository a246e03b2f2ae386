/** The operations' variables: metrics, stopping, trusted proxies (docs/configuration.md). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const problems = (env: NodeJS.ProcessEnv) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

test('metrics: off by default; a port, a bind address, a token', () => {
  assert.deepEqual(loadConfig({}).metrics, { port: undefined, host: '127.0.0.1', token: undefined });
  assert.deepEqual(loadConfig({ NELM_METRICS_PORT: '9464', NELM_METRICS_HOST: '0.0.0.0' }).metrics, { port: 9464, host: '0.0.0.0', token: undefined });
  assert.equal(loadConfig({ NELM_METRICS_TOKEN: 'a-long-metrics-token-0123' }).metrics.token, 'a-long-metrics-token-0123');
  assert.match(problems({ NELM_METRICS_PORT: 'abc' }).join(), /NELM_METRICS_PORT must be a whole number/);
  assert.match(problems({ NELM_METRICS_PORT: '70000' }).join(), /NELM_METRICS_PORT must be between 0 and 65535/);
  const short = problems({ NELM_METRICS_TOKEN: 'short-secret' }).join();
  assert.match(short, /NELM_METRICS_TOKEN must be at least 16 characters/);
  assert.ok(!short.includes('short-secret'), 'the token is never echoed');
});

test('stopping: a drain delay (0 by default) and a bound (30 s by default)', () => {
  assert.deepEqual(loadConfig({}).shutdown, { drainSeconds: 0, timeoutSeconds: 30 });
  assert.deepEqual(loadConfig({ NELM_SHUTDOWN_DRAIN: '5', NELM_SHUTDOWN_TIMEOUT: '60' }).shutdown, { drainSeconds: 5, timeoutSeconds: 60 });
  assert.match(problems({ NELM_SHUTDOWN_TIMEOUT: '0' }).join(), /NELM_SHUTDOWN_TIMEOUT must be between 1 and 3600/);
  assert.match(problems({ NELM_SHUTDOWN_DRAIN: '-1' }).join(), /NELM_SHUTDOWN_DRAIN must be a whole number/);
});

test('trusted proxies: off, true, a hop count, or addresses and ranges', () => {
  assert.equal(loadConfig({}).trustProxy, false);
  assert.equal(loadConfig({ NELM_TRUST_PROXY: 'off' }).trustProxy, false);
  assert.equal(loadConfig({ NELM_TRUST_PROXY: 'true' }).trustProxy, true);
  assert.equal(loadConfig({ NELM_TRUST_PROXY: '2' }).trustProxy, 2);
  assert.deepEqual(loadConfig({ NELM_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
  for (const bad of ['0', '33', 'yes', '10.0.0.0/8,proxy.example.com', 'abc']) {
    assert.match(problems({ NELM_TRUST_PROXY: bad }).join(), /NELM_TRUST_PROXY must be 'off', 'true', a number of hops/, bad);
  }
});
