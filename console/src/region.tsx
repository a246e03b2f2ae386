/** A wide table's scrolling wrapper that the keyboard can reach and scroll, named for screen readers. */
import type { ComponentChildren } from 'preact';

export function ScrollRegion({ label, ready, children }: { label: string; ready?: boolean; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls must take focus for the keyboard to scroll it (WCAG 2.1.1).
    <section class="table-wrap" aria-label={label} tabIndex={0} data-ready={ready ? 'true' : undefined}>
      {children}
    </section>
  );
}
