/**
 * Background threads (a bulk check, the SQLite write connection) lower their own scheduling
 * priority to nice 10 where the OS allows it per thread (Linux): when every core is busy, the main
 * thread, which answers requests, runs first, and the background work takes what is left.
 *
 * Plain JavaScript: the SQLite writer's thread runs its module as it is, from the sources and from
 * the build alike, and imports this one.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export const BACKGROUND_NICE = 10;

/** Lowers the calling thread's priority; does nothing where the OS does not allow it. */
export function yieldToMainThread() {
  try {
    const thread = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    if (thread) setPriority(Number(thread[1]), BACKGROUND_NICE);
  } catch {
    // Not Linux, or not allowed: the thread runs at the process's priority.
  }
}
