/**
 * Picking an identity by searching: a combobox (type to search, arrow keys to move, Enter to
 * choose) over `GET /console/api/identities`, which any signed-in person may read (id, name,
 * alias and email only). The value is the identity's alias.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import { get } from './api';
import { useDebounced } from './ui';

export interface IdentityMatch {
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
}

export interface PickerProps {
  id: string;
  value: string;
  onChange(alias: string): void;
  placeholder?: string | undefined;
  required?: boolean | undefined;
  describedBy?: string | undefined;
  invalid?: boolean | undefined;
}

export function IdentityPicker({ id, value, onChange, placeholder, required, describedBy, invalid }: PickerProps) {
  const listId = useId();
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [matches, setMatches] = useState<IdentityMatch[]>([]);
  const search = useDebounced(value, 200);

  useEffect(() => {
    if (!open || search.trim() === '') {
      setMatches([]);
      return;
    }
    let current = true;
    get<IdentityMatch[]>('/console/api/identities', { search: search.trim(), limit: 8 }).then(
      (answer) => {
        if (current) {
          setMatches(answer.data);
          setActive(-1);
        }
      },
      () => current && setMatches([]),
    );
    return () => {
      current = false;
    };
  }, [search, open]);

  const choose = (match: IdentityMatch) => {
    onChange(match.alias);
    setOpen(false);
    setMatches([]);
  };
  const expanded = open && matches.length > 0;

  return (
    <div class="picker">
      <input
        id={id}
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? `${listId}-${active}` : undefined}
        aria-describedby={describedBy}
        aria-invalid={invalid}
        required={required}
        placeholder={placeholder}
        value={value}
        onInput={(e) => {
          onChange(e.currentTarget.value);
          setOpen(true);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
            setActive((a) => Math.min(a + 1, matches.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === 'Enter' && expanded && active >= 0) {
            e.preventDefault();
            choose(matches[active]!);
          } else if (e.key === 'Escape') setOpen(false);
        }}
      />
      <div id={listId} role="listbox" class="options" hidden={!expanded}>
        {matches.map((match, index) => (
          <div
            key={match.id}
            id={`${listId}-${index}`}
            role="option"
            tabIndex={-1}
            aria-selected={index === active}
            class={index === active ? 'active' : undefined}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => choose(match)}
            onKeyDown={(e) => e.key === 'Enter' && choose(match)}
          >
            {match.name || match.alias} <span class="muted">{match.alias}</span>
            {match.email ? <span class="muted"> · {match.email}</span> : null}
          </div>
        ))}
      </div>
    </div>
  );
}
