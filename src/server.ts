/** Starts the HTTP server: builds the app, listens, and shuts down cleanly on SIGINT/SIGTERM. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config/config.js';

/** Said once, when a start created the key file (the key is never shown). */
export const KEY_FILE_CREATED =
  'generated the key that encrypts the private signing keys (back it up apart from the database; every process on the database needs it):';

export async function startServer(config: Config): Promise<FastifyInstance> {
  const app = await buildApp(config);
  if (app.generatedAdmin) {
    // Printed once, on the terminal, never logged: the secret is stored only as a hash.
    process.stdout.write(
      `${[
        '',
        'A new database: generated the org-admin API client. Keep the secret, it is not shown again.',
        `  NELM_ADMIN_CLIENT_ID=${app.generatedAdmin.clientId}`,
        `  NELM_ADMIN_CLIENT_SECRET=${app.generatedAdmin.clientSecret}`,
        '',
      ].join('\n')}\n`,
    );
  }
  const keyFile = app.services.tokens.keyRing.createdFile;
  if (keyFile) app.log.warn({ keyFile }, `${KEY_FILE_CREATED} ${keyFile}`);
  app.log.info({ database: app.db.description }, `database: ${app.db.description}`);
  await app.listen({ port: config.port, host: config.host });
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return app;
}
