/**
 * Choosing people for a source (approvers, account managers, its owner): identities found by
 * searching `GET /console/api/identities`, and governance groups by `GET /console/api/workgroups`,
 * in an ordered list the keyboard can reorder. Names of ids the API answers come from
 * `GET /console/api/people`.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import { ApiError, get } from './api';
import { useDebounced } from './ui';

export type Kind = 'IDENTITY' | 'GOVERNANCE_GROUP';

export interface Chosen {
  id: string;
  type: Kind;
  name: string;
}

interface IdentityMatch {
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
}

interface Person {
  id: string;
  type: Kind;
  name: string;
  alias: string | null;
}

const names = new Map<string, Chosen>();

/** The identities and governance groups `ids` name, with their names (ids the API does not know are left out). */
export async function namesOf(ids: readonly string[]): Promise<Chosen[]> {
  const wanted = [...new Set(ids)].filter((id) => !names.has(id));
  for (let i = 0; i < wanted.length; i += 50) {
    for (const p of (await get<Person[]>('/console/api/people', { ids: wanted.slice(i, i + 50).join(',') })).data)
      names.set(p.id, { id: p.id, type: p.type, name: p.alias && p.alias !== p.name ? `${p.name} (${p.alias})` : p.name });
  }
  return ids.flatMap((id) => names.get(id) ?? []);
}

/** `list` with the names of `found` (an update for a list the person may have changed meanwhile). */
export const withNames =
  (found: Chosen[]) =>
  (list: Chosen[]): Chosen[] =>
    list.map((c) => found.find((f) => f.id === c.id) ?? c);

export interface ChooserProps {
  label: string;
  help: string;
  max: number;
  groups: boolean;
  value: Chosen[];
  onChange(value: Chosen[]): void;
  error?: string | undefined;
  /** Whether the order means something (approval levels). */
  ordered?: boolean;
}

/** An ordered list of people and groups, with a search to add more (up to `max`). */
export function PeopleChooser({ label, help, max, groups, value, onChange, error, ordered }: ChooserProps) {
  const id = useId();
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 200);
  const [matches, setMatches] = useState<Chosen[]>([]);
  useEffect(() => {
    if (search === '') {
      setMatches([]);
      return;
    }
    let current = true;
    Promise.all([
      get<IdentityMatch[]>('/console/api/identities', { search, limit: 8 }),
      groups ? get<{ id: string; name: string }[]>('/console/api/workgroups', { search, limit: 8 }) : Promise.resolve({ data: [] }),
    ]).then(
      ([people, groupsFound]) => {
        if (!current) return;
        const found: Chosen[] = [
          ...people.data.map((p) => ({ id: p.id, type: 'IDENTITY' as const, name: p.name ? `${p.name} (${p.alias})` : p.alias })),
          ...groupsFound.data.map((g) => ({ id: g.id, type: 'GOVERNANCE_GROUP' as const, name: g.name })),
        ];
        for (const f of found) names.set(f.id, f);
        setMatches(found.slice(0, 10));
      },
      () => current && setMatches([]),
    );
    return () => {
      current = false;
    };
  }, [search, groups]);

  const move = (index: number, by: number) => {
    const next = [...value];
    const [item] = next.splice(index, 1);
    next.splice(index + by, 0, item!);
    onChange(next);
  };
  const full = value.length >= max;
  const List = ordered ? 'ol' : 'ul';
  return (
    <fieldset class={error ? 'chooser invalid' : 'chooser'} aria-describedby={`${id}-help${error ? ` ${id}-error` : ''}`}>
      <legend>{label}</legend>
      <p class="help" id={`${id}-help`}>
        {help}
      </p>
      {value.length === 0 ? <p class="muted">None chosen.</p> : null}
      <List class="chosen" aria-label={`${label}: chosen`}>
        {value.map((item, index) => (
          <li key={item.id}>
            <span>
              {item.name}
              {item.type === 'GOVERNANCE_GROUP' ? <span class="muted"> (governance group)</span> : null}
            </span>
            {ordered ? (
              <>
                <button type="button" disabled={index === 0} onClick={() => move(index, -1)} aria-label={`Move ${item.name} up`}>
                  Up
                </button>
                <button type="button" disabled={index === value.length - 1} onClick={() => move(index, 1)} aria-label={`Move ${item.name} down`}>
                  Down
                </button>
              </>
            ) : null}
            <button
              type="button"
              onClick={() => onChange(value.filter((v) => v.id !== item.id))}
              aria-label={`Remove ${item.name} from ${label.toLowerCase()}`}
            >
              Remove
            </button>
          </li>
        ))}
      </List>
      <label for={`${id}-search`}>Add to {label.toLowerCase()}</label>
      <input
        id={`${id}-search`}
        type="search"
        autoComplete="off"
        disabled={full}
        placeholder={groups ? 'Name, alias, email or group' : 'Name, alias or email'}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      {full ? <p class="muted">The limit of {max} is reached; remove one to add another.</p> : null}
      {matches.length > 0 && !full ? (
        <ul class="matches" aria-label={`Matches for ${label.toLowerCase()}`}>
          {matches
            .filter((m) => !value.some((v) => v.id === m.id))
            .map((match) => (
              <li key={match.id}>
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    onChange([...value, match]);
                    setText('');
                    setMatches([]);
                  }}
                >
                  Add {match.name}
                  {match.type === 'GOVERNANCE_GROUP' ? ' (governance group)' : ''}
                </button>
              </li>
            ))}
        </ul>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

/** The causes of an API error that name `field` (`approvers[1].id …`, `name must …`), joined. */
export function causeFor(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const found = error.causes.filter(
    (c) => c === field || c.startsWith(`${field} `) || c.startsWith(`${field}[`) || c.startsWith(`${field}.`) || c.startsWith(`/${field}`),
  );
  return found.length > 0 ? found.join(' ') : undefined;
}
