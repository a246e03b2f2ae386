/** Starts the HTTP server: builds the app, listens, and stops gracefully on SIGINT/SIGTERM. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config, ShutdownSettings } from './config/config.js';

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
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stopGracefully(app, config.shutdown, signal).then(
      () => process.exit(0),
      (error) => {
        app.log.error({ err: error }, 'stopping failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return app;
}

/**
 * Stops as a load balancer expects (docs/operations.md, "Stopping"): readiness answers 503 at
 * once; after `drainSeconds` the listener closes, the requests in flight are answered, then the
 * workers stop (bulk jobs not yet writing and webhook endpoints being delivered to are given back
 * for another process to take at once) and the database closes. Past `timeoutSeconds` in all,
 * the process exits 1 saying so.
 */
export async function stopGracefully(app: FastifyInstance, settings: ShutdownSettings, signal: string): Promise<void> {
  const started = Date.now();
  const overdue = setTimeout(() => {
    app.log.error(
      { signal, timeoutSeconds: settings.timeoutSeconds },
      `stopping took longer than NELM_SHUTDOWN_TIMEOUT (${settings.timeoutSeconds} s): exiting now`,
    );
    process.exit(1);
  }, settings.timeoutSeconds * 1000);
  overdue.unref();
  app.readiness.drain();
  app.log.info({ signal, drainSeconds: settings.drainSeconds }, 'stopping: readiness answers 503');
  if (settings.drainSeconds > 0) await new Promise((resolve) => setTimeout(resolve, settings.drainSeconds * 1000));
  // Connections kept alive after their last answer would hold the close until the client ends them.
  const idle = setInterval(() => app.server.closeIdleConnections(), 100);
  try {
    await app.close();
  } finally {
    clearInterval(idle);
  }
  clearTimeout(overdue);
  app.log.info({ signal, ms: Date.now() - started }, 'stopped');
}
