/**
 * Import and export (those with the create right): pick a source; upload a CSV (file input or drag
 * and drop) to the bulk upload operation, follow its job until it ends, read its problems in a
 * table and download them; export the source's records; download its template.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { get, getText, upload } from '../api';
import type { PageDef } from '../pages';
import { ScrollRegion } from '../region';
import { setQuery, useLocation } from '../router';
import { hasRight } from '../session';
import { ErrorMessage, Loading, useLoad } from '../ui';
import { Table } from '../forms';

interface Source {
  id: string;
  name: string;
}

interface Job {
  id: string;
  sourceId: string;
  status: 'PENDING' | 'IN_PROGRESS' | 'COMPLETED' | 'ERROR';
  fileName: string | null;
  rows: number;
  counts: { created: number; updated: number; unchanged: number; failed: number };
  errorCount: number;
  message: string | null;
  created: string;
  finished: string | null;
}

/** RFC 4180 CSV: quoted fields with doubled quotes, CRLF or LF lines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const base = (sourceId: string) => `/v3/non-employee-sources/${sourceId}`;
const STATUS_TEXT: Record<Job['status'], string> = {
  PENDING: 'Waiting for a worker',
  IN_PROGRESS: 'Importing',
  COMPLETED: 'Completed',
  ERROR: 'Failed',
};

function JobReport({ job }: { job: Job }) {
  const errorsUrl = `${base(job.sourceId)}/non-employee-bulk-upload/jobs/${job.id}/errors`;
  const ended = job.status === 'COMPLETED' || job.status === 'ERROR';
  const problems = useLoad(async () => (ended && job.errorCount > 0 ? parseCsv(await getText(errorsUrl)) : []), `${job.id}:${job.status}`);
  const [header, ...lines] = problems.data ?? [];
  return (
    <section aria-labelledby="job-heading" class="card job">
      <h2 id="job-heading">Import of {job.fileName ?? 'a CSV'}</h2>
      <p role="status" aria-live="polite" data-status={job.status}>
        {STATUS_TEXT[job.status]}
        {ended
          ? `: ${job.rows} rows; ${job.counts.created} created, ${job.counts.updated} updated, ${job.counts.unchanged} unchanged, ${job.counts.failed} failed.`
          : '…'}
      </p>
      {!ended ? <progress aria-label="Import progress" /> : null}
      {job.message ? <p>{job.message}</p> : null}
      {ended && job.errorCount > 0 ? (
        <>
          <h3>Problems ({job.errorCount})</h3>
          <p class="help">Any invalid row fails the whole file: nothing was written. Correct the rows and upload the file again.</p>
          <p>
            <a href={errorsUrl} download={`import-errors-${job.id}.csv`} class="button">
              Download the error report (CSV)
            </a>
          </p>
          <ErrorMessage error={problems.error} />
          {header ? (
            <ScrollRegion label="Problems" ready>
              <Table caption="Problems of the import" columns={header} count={lines.length}>
                {lines.map((line, i) => (
                  <tr key={i}>
                    {line.map((cell, j) => (
                      <td key={j}>{cell}</td>
                    ))}
                  </tr>
                ))}
              </Table>
            </ScrollRegion>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function Upload({ sourceId }: { sourceId: string }) {
  const inputId = useId();
  const [file, setFile] = useState<File>();
  const [over, setOver] = useState(false);
  const [error, setError] = useState<unknown>();
  const [job, setJob] = useState<Job>();
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!job || job.status === 'COMPLETED' || job.status === 'ERROR') return;
    const timer = setTimeout(async () => {
      try {
        setJob((await get<Job>(`${base(sourceId)}/non-employee-bulk-upload/jobs/${job.id}`)).data);
      } catch (e) {
        setError(e);
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [job, sourceId]);
  const send = async (chosen: File) => {
    setBusy(true);
    setError(undefined);
    setJob(undefined);
    try {
      const started = (await upload<{ id: string }>(`${base(sourceId)}/non-employee-bulk-upload`, 'data', chosen, chosen.name)).data;
      setJob((await get<Job>(`${base(sourceId)}/non-employee-bulk-upload/jobs/${started.id}`)).data);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const choose = (chosen: File | undefined) => {
    setFile(chosen);
    setError(undefined);
  };
  return (
    <section aria-labelledby="upload-heading">
      <h2 id="upload-heading">Import a CSV</h2>
      <p class="help">
        The header row names the columns, as in the template below; rows whose account name matches a record update it, the others create records. At most
        20,000 records per source.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (file) void send(file);
          else setError(new Error('Choose a CSV file first.'));
        }}
      >
        <fieldset
          class={over ? 'drop over' : 'drop'}
          data-testid="drop-zone"
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            const dropped = e.dataTransfer?.files[0];
            if (dropped) {
              choose(dropped);
              void send(dropped);
            }
          }}
        >
          <legend>Drop a CSV file here to import it, or choose one</legend>
          <label for={inputId}>CSV file</label>
          <input id={inputId} ref={input} type="file" accept=".csv,text/csv" onChange={(e) => choose(e.currentTarget.files?.[0])} />
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Upload CSV
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
      {job ? <JobReport job={job} /> : null}
    </section>
  );
}

function ImportExport() {
  const { query } = useLocation();
  const sources = useLoad(async () => (await get<Source[]>('/v3/non-employee-sources', { limit: 250, sorters: 'name' })).data, 'sources');
  const sourceId = query.get('source') ?? '';
  const source = sources.data?.find((s) => s.id === sourceId);
  return (
    <>
      <h1>Import and export</h1>
      <ErrorMessage error={sources.error} />
      {sources.loading && !sources.data ? <Loading what="sources" /> : null}
      {sources.data ? (
        <div class="toolbar">
          <label>
            Source{' '}
            <select value={sourceId} onChange={(e) => setQuery({ source: e.currentTarget.value })}>
              <option value="">Choose a source</option>
              {sources.data.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
        </div>
      ) : null}
      {source ? (
        <>
          <Upload key={source.id} sourceId={source.id} />
          <section aria-labelledby="export-heading">
            <h2 id="export-heading">Export and template</h2>
            <p class="help">The export holds every record of {source.name} under the template's header; the template is the header alone.</p>
            <div class="actions">
              <a class="button" href={`${base(source.id)}/non-employees/download`} download={`${source.name}-records.csv`}>
                Export records (CSV)
              </a>
              <a class="button" href={`${base(source.id)}/schema-attributes-template/download`} download={`${source.name}-template.csv`}>
                Download the template (CSV)
              </a>
            </div>
          </section>
        </>
      ) : sources.data ? (
        <p class="muted">Choose a source to import into or export from.</p>
      ) : null}
    </>
  );
}

export const importExportPage: PageDef = {
  path: '/import-export',
  title: 'Import and export',
  nav: 'Import and export',
  visible: (me) => hasRight(me, 'idn:nesr:create'),
  component: ImportExport,
};
