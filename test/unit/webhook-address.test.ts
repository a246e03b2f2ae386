/**
 * The webhook address rules (src/modules/webhooks/address.ts): which addresses are not public,
 * IPv4 and IPv6, including IPv6 forms that lead to an IPv4 address; which URLs are refused before
 * any lookup; and the checked address a URL connects to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nonPublicReason, resolveTarget, urlProblem } from '../../src/modules/webhooks/address.js';

test('non-public addresses are named by kind; public ones pass', () => {
  const table: [string, string | undefined][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped link-local'],
    ['::127.0.0.1', 'reserved (IPv4-compatible)'],
    ['64:ff9b::a00:1', 'NAT64 private'],
    ['2002:7f00:1::', '6to4 loopback'],
    ['fd12:3456::1', 'private (unique local)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved (IETF protocol)'],
    ['4000::1', 'reserved'],
    // Public.
    ['8.8.8.8', undefined],
    ['1.1.1.1', undefined],
    ['100.63.255.255', undefined],
    ['172.15.255.255', undefined],
    ['172.32.0.0', undefined],
    ['93.184.216.34', undefined],
    ['::ffff:8.8.8.8', undefined],
    ['64:ff9b::808:808', undefined],
    ['2606:4700:4700::1111', undefined],
    ['2a00:1450:4007:80f::200e', undefined],
  ];
  for (const [address, reason] of table) assert.equal(nonPublicReason(address), reason, address);
  assert.equal(nonPublicReason('not an address'), undefined);
});

test('URLs refused before any lookup: scheme, form, credentials', () => {
  const strict = { allowHttp: false, allowPrivate: false };
  assert.equal(urlProblem('https://hooks.example.com/x?y=1', strict), undefined);
  assert.match(urlProblem('http://hooks.example.com/x', strict)!, /https:\/\//);
  assert.equal(urlProblem('http://hooks.example.com/x', { ...strict, allowHttp: true }), undefined);
  assert.match(urlProblem('ftp://hooks.example.com/x', { ...strict, allowHttp: true })!, /https:\/\//);
  assert.match(urlProblem('file:///etc/passwd', strict)!, /https:\/\//);
  assert.match(urlProblem('hooks.example.com', strict)!, /absolute/);
  assert.match(urlProblem('https://user:secret@hooks.example.com/', strict)!, /user name or password/);
  assert.match(urlProblem(`https://hooks.example.com/${'a'.repeat(2048)}`, strict)!, /2048/);
});

test('every resolved address is checked, and the first is the one to connect to', async () => {
  const strict = { allowHttp: false, allowPrivate: false };
  const resolver = (map: Record<string, string[]>) => async (host: string) => {
    const addresses = map[host];
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));
  };
  const dns = resolver({ 'public.test': ['93.184.216.34', '2606:2800:220:1::1'], 'mixed.test': ['93.184.216.34', '10.1.2.3'], 'local.test': ['127.0.0.1'] });
  assert.deepEqual(await resolveTarget(new URL('https://public.test/'), strict, dns), { target: { address: '93.184.216.34', family: 4 } });
  assert.deepEqual(await resolveTarget(new URL('https://mixed.test/'), strict, dns), {
    problem: "url's host mixed.test resolves to 10.1.2.3, a private address",
  });
  assert.deepEqual(await resolveTarget(new URL('https://local.test/'), strict, dns), {
    problem: "url's host local.test resolves to 127.0.0.1, a loopback address",
  });
  assert.deepEqual(await resolveTarget(new URL('https://[::ffff:127.0.0.1]/'), strict, dns), {
    problem: 'url names ::ffff:7f00:1, an IPv4-mapped loopback address',
  });
  assert.deepEqual(await resolveTarget(new URL('https://[::ffff:a00:1]:8443/'), strict, dns), {
    problem: 'url names ::ffff:a00:1, an IPv4-mapped private address',
  });
  assert.deepEqual(await resolveTarget(new URL('https://[fe80::1]/'), strict, dns), { problem: 'url names fe80::1, a link-local address' });
  assert.deepEqual(await resolveTarget(new URL('https://2130706433/'), strict, dns), { problem: 'url names 127.0.0.1, a loopback address' });
  assert.match(((await resolveTarget(new URL('https://nowhere.test/'), strict, dns)) as { problem: string }).problem, /could not be resolved \(ENOTFOUND\)/);
  assert.deepEqual(await resolveTarget(new URL('https://local.test/'), { ...strict, allowPrivate: true }, dns), {
    target: { address: '127.0.0.1', family: 4 },
  });
});
