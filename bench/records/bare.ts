/**
 * The bare server: the same Fastify, the same response schema (NonEmployeeRecord), no database,
 * no auth, no validation. It answers the record routes with a fixed record and a fixed page of 250
 * records, so its figures are the floor of Fastify + JSON serialization on this machine.
 * Run as a child process by index.ts (PORT, HOST from the environment).
 */
import Fastify from 'fastify';
import { Type } from '@sinclair/typebox';
import { NonEmployeeRecord } from '../../src/modules/records/schemas.js';
import { benchRecord } from './data.js';

const SOURCE = 'a3c4f1d2e5b64798a1b2c3d4e5f60718';
const page = Array.from({ length: 250 }, (_, i) => benchRecord(SOURCE, 0, i, i, 'admin'));
const one = page[0]!;

const app = Fastify({ logger: false });
app.get('/health', async () => ({ status: 'ok' }));
app.get('/v2024/non-employee-records/:id', { schema: { response: { 200: NonEmployeeRecord } } }, async () => one);
app.get('/v2024/non-employee-records', { schema: { response: { 200: Type.Array(NonEmployeeRecord) } } }, async () => page);

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
