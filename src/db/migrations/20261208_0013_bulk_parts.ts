/**
 * A bulk job's uploaded file is kept in parts (`bulk_job_parts`, about 1 MiB each, numbered from
 * 0) instead of one value in the job's row, so that it is written and read a part at a time and a
 * claim or an update of the job row does not copy it. The files of jobs stored before become one
 * part each. Parts go with their job (cascade) and are deleted when it ends.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  await db.schema
    .createTable('bulk_job_parts')
    .addColumn('job_seq', pg ? 'bigint' : 'integer', (c) => c.notNull())
    .addColumn('part', 'integer', (c) => c.notNull())
    .addColumn('bytes', pg ? 'bytea' : 'blob', (c) => c.notNull())
    .addPrimaryKeyConstraint('bulk_job_parts_pkey', ['job_seq', 'part'])
    .addForeignKeyConstraint('bulk_job_parts_job_fkey', ['job_seq'], 'bulk_jobs', ['seq'], (c) => c.onDelete('cascade'))
    .execute();
  await sql`insert into bulk_job_parts (job_seq, part, bytes) select seq, 0, file from bulk_jobs where file is not null`.execute(db);
  await db.schema.alterTable('bulk_jobs').dropColumn('file').execute();
}

export async function down(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .alterTable('bulk_jobs')
    .addColumn('file', dialect === 'postgres' ? 'bytea' : 'blob')
    .execute();
  const parts = await db.selectFrom('bulk_job_parts').select(['job_seq', 'bytes']).orderBy('job_seq').orderBy('part').execute();
  const files = new Map<number, Buffer[]>();
  for (const p of parts) {
    const seq = Number(p.job_seq);
    files.set(seq, [...(files.get(seq) ?? []), Buffer.from(p.bytes)]);
  }
  for (const [seq, bytes] of files)
    await db
      .updateTable('bulk_jobs')
      .set({ file: Buffer.concat(bytes) })
      .where('seq', '=', seq)
      .execute();
  await db.schema.dropTable('bulk_job_parts').execute();
}
