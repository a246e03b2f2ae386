/**
 * Every page of the console, in the navigation's order. A page is one file under pages/ that
 * exports a `PageDef`, and one line here: its route, its navigation link (if it has one) and who
 * sees it come from that definition (docs/console.md).
 */
import type { ComponentType } from 'preact';
import { adminPage } from './pages/admin';
import { approvalsPage } from './pages/approvals';
import { importExportPage } from './pages/import-export';
import { newRequestPage } from './pages/new-request';
import { recordPage } from './pages/record';
import { recordsPage } from './pages/records';
import { requestsPage } from './pages/requests';
import { sourcePage } from './pages/source';
import { sourcesPage } from './pages/sources';
import type { Me } from './session';

export interface PageDef {
  /** The route, below `/console`: `/records`, `/records/:id`. */
  path: string;
  /** The page's heading and the document's title. */
  title: string;
  /** The navigation link's name; pages reached from another page have none. */
  nav?: string;
  /** Whether the person sees the page (and its link): what the API would let them do there. */
  visible(me: Me): boolean;
  /** A count beside the navigation link (pending approvals). */
  badge?(me: Me): number;
  component: ComponentType<{ params: Record<string, string> }>;
}

export const PAGES: PageDef[] = [approvalsPage, requestsPage, newRequestPage, recordsPage, recordPage, sourcesPage, sourcePage, importExportPage, adminPage];
