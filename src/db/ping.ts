/** Whether the database answers (readiness): the cheapest statement both engines run. */
import { type Kysely, sql } from 'kysely';
import type { Database } from './types.js';

export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
