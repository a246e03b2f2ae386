/**
 * Where the event loop stalls, and in which bulk step: a timer asks for a turn every millisecond
 * and notes each one that comes late (a stall: the loop was busy with something else that long),
 * while V8's sampling profiler (node:inspector, 1 sample per ms) records what ran. Each stall is
 * then named after the bulk step whose code ran most during it (the functions on the sampled
 * stacks, see STEPS), or "garbage collection" when the collector did.
 */
import { Session } from 'node:inspector/promises';

/** A step and what names it: [file, function names (any when empty)] of a frame on the stack. */
const STEPS: [step: string, frames: [file: RegExp, names?: RegExp][]][] = [
  ['commit', [[/src\/db\/(sqlite|postgres)\.ts$/, /^commitTransaction$/]]],
  ['export', [[/src\/modules\/bulk\/service\.ts$/, /^lines$/]]],
  ['upload: receive and check', [[/src\/modules\/bulk\/(upload|routes)\.ts$/], [/@fastify\/(busboy|multipart)\//]]],
  ['upload: store the file', [[/src\/modules\/bulk\/repository\.ts$/, /^storeFile$/]]],
  ['upload: queue the job', [[/src\/modules\/bulk\/service\.ts$/, /^submit$|^admit$/]]],
  ['job: claim', [[/src\/modules\/bulk\/(runner|repository)\.ts$/, /^tick$|^claim$|^endLeases$/]]],
  ['job: read the file', [[/src\/modules\/bulk\/repository\.ts$/, /^file$/]]],
  ['job: events', [[/src\/modules\/bulk\/events\.ts$/]]],
  ['job: finish', [[/src\/modules\/bulk\/repository\.ts$/, /^finish$/]]],
  ['job: write batches', [[/src\/modules\/records\/(service|repository)\.ts$/, /^insertNew$|^insert$|^updateMany$/], [/src\/modules\/sources\//]]],
  [
    'job: match to the records',
    [
      [/src\/modules\/bulk\/runner\.ts$/, /^write$|^$/],
      [/src\/modules\/records\/validation\.ts$/, /^changedFields$/],
    ],
  ],
  [
    'job: check the rows',
    [
      [/src\/modules\/bulk\/(check|columns|tokenizer)\.ts$/],
      [/src\/modules\/bulk\/csv\.ts$/, /^readCsv$|^rows$/],
      [/src\/modules\/(records\/validation|directory)/],
    ],
  ],
];

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Stall {
  /** When it began, µs on the profiler's clock (process.hrtime's). */
  at: number;
  ms: number;
  /** The step whose code ran most during it, or "garbage collection" when only the collector did. */
  step: string;
  /** How much of it the garbage collector took. */
  gcMs: number;
  /** The functions that ran most during it (self time, ms), for a closer look. */
  top: string[];
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Starts watching; `stop` gives every stall longer than `minMs`, named. */
export async function watchStalls(minMs = 2): Promise<{ stop(): Promise<Stall[]> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  const late: [number, number][] = [];
  let expected = nowUs() + 1000;
  let timer: NodeJS.Timeout;
  const tick = () => {
    const t = nowUs();
    if (t - expected >= minMs * 1000) late.push([expected, t]);
    expected = nowUs() + 1000;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    async stop() {
      clearTimeout(timer);
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
      session.disconnect();
      return name(profile, late);
    },
  };
}

function name(profile: Profile, late: [number, number][]): Stall[] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const stepOf = new Map<number, string>();
  const label = (id: number): string => {
    let step = stepOf.get(id);
    if (step !== undefined) return step;
    step = frames.get(id)!.functionName === '(garbage collector)' ? 'garbage collection' : 'other';
    const stack: { functionName: string; url: string }[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(frames.get(x)!);
    const found = STEPS.find(([, rules]) => stack.some((f) => rules.some(([file, names]) => file.test(f.url) && (!names || names.test(f.functionName)))));
    if (found) step = found[0];
    stepOf.set(id, step);
    return step;
  };
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) {
    t += delta;
    times.push(t);
  }
  return late.map(([from, to]) => {
    const spent = new Map<string, number>();
    const self = new Map<string, number>();
    for (let i = 0; i < times.length; i++) {
      const frame = frames.get(profile.samples[i]!)!;
      if (times[i]! < from || times[i]! > to || frame.functionName === '(idle)') continue;
      const us = (times[i + 1] ?? times[i]! + 1000) - times[i]!;
      const step = label(profile.samples[i]!);
      spent.set(step, (spent.get(step) ?? 0) + us);
      const where = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}`;
      self.set(where, (self.get(where) ?? 0) + us);
    }
    const named = [...spent].filter(([step]) => step !== 'other' && step !== 'garbage collection').sort((a, b) => b[1] - a[1]);
    const gc = spent.get('garbage collection') ?? 0;
    const step = named[0]?.[0] ?? (gc > 0 ? 'garbage collection' : 'other');
    const top = [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([f, us]) => `${(us / 1000).toFixed(1)} ${f}`);
    return { at: from, ms: (to - from) / 1000, step, gcMs: gc / 1000, top };
  });
}
