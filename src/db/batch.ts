/**
 * Point reads coalesced per event-loop turn: every `load(group, key)` issued while the server
 * handles one batch of socket events is answered by one query per group (`fetch(group, keys)`),
 * run from setImmediate, i.e. right after those events and before the loop waits again.
 *
 * On PostgreSQL each query is a round trip, a pool checkout and a statement execution; under load
 * many gets arrive in the same turn, and one `id = ANY($2)` read for all of them costs the server
 * and the database little more than one (docs/performance.md, Records). A lone request waits for
 * nothing: its batch runs in the same turn. Reads only, outside transactions: a batch sees one
 * snapshot, as each read would have seen its own.
 */
export class PointReads<R> {
  private pending = new Map<string, Map<string, Waiter<R>[]>>();
  private scheduled = false;

  /**
   * @param fetch the rows of `keys` in `group`, keyed by key (absent keys are not found)
   * @param maxKeys keys per query at most; a larger batch runs as several queries
   */
  constructor(
    private readonly fetch: (group: string, keys: string[]) => Promise<Map<string, R>>,
    private readonly maxKeys = 100,
  ) {}

  load(group: string, key: string): Promise<R | undefined> {
    return new Promise((resolve, reject) => {
      let keys = this.pending.get(group);
      if (!keys) {
        keys = new Map();
        this.pending.set(group, keys);
      }
      const waiters = keys.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else keys.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const [group, keys] of pending) {
      const all = [...keys.keys()];
      for (let i = 0; i < all.length; i += this.maxKeys) {
        const chunk = all.slice(i, i + this.maxKeys);
        this.fetch(group, chunk).then(
          (rows) => {
            for (const key of chunk) for (const w of keys.get(key)!) w.resolve(rows.get(key));
          },
          (error: unknown) => {
            for (const key of chunk) for (const w of keys.get(key)!) w.reject(error);
          },
        );
      }
    }
  }
}

interface Waiter<R> {
  resolve(row: R | undefined): void;
  reject(error: unknown): void;
}
