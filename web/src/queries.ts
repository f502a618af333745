// The pure parts of the pages: what they ask the API, how they sum its answers.

import type { paths } from "./api/schema";

/** The query of GET /api/v1/nodes, as the generated client types it. */
export type NodeListQuery = NonNullable<paths["/api/v1/nodes"]["get"]["parameters"]["query"]>;

/** The node list's filters as the page holds them: a select left empty is undefined. */
export interface NodeFilters {
  name?: string;
  provision_state?: string;
  power_state?: string;
  cpu_arch?: string;
  availability_zone?: string;
  maintenance?: string; // "true" | "false" from its select
}

/** One page of nodes sorted by name, after `marker`, with only the filters set (all applied by
 * the server); the name is trimmed and a blank one dropped. */
export function nodeQuery(limit: number, marker: string | undefined, filters: NodeFilters): NodeListQuery {
  const q: NodeListQuery = { limit, sort_key: "name" };
  if (marker) q.marker = marker;
  const name = filters.name?.trim();
  if (name) q.name = name;
  if (filters.provision_state) q.provision_state = filters.provision_state;
  if (filters.power_state) q.power_state = filters.power_state;
  if (filters.cpu_arch) q.cpu_arch = filters.cpu_arch;
  if (filters.availability_zone) q.availability_zone = filters.availability_zone;
  if (filters.maintenance === "true" || filters.maintenance === "false") q.maintenance = filters.maintenance === "true";
  return q;
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export type AuditFilters = { user_name?: string; project_name?: string; action?: string; target_type?: string; outcome?: string };

/** The query string of the filters set (empty ones left out). */
export function auditQuery(filters: AuditFilters, extra: Record<string, string | number> = {}): Record<string, string | number> {
  const out: Record<string, string | number> = { ...extra };
  for (const [k, v] of Object.entries(filters)) if (v) out[k] = v.trim();
  return out;
}
