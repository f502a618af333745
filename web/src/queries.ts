// The pure parts of the pages: what they ask the API, how they sum its answers.

const FIELDS =
  "uuid,name,provision_state,power_state,maintenance,instance_uuid,target_provision_state,target_power_state";

export interface NodeQuery {
  limit: number;
  marker?: string;
  provision_state?: string;
  maintenance?: "true" | "false";
}

export function nodeQuery(
  limit: number,
  marker: string | undefined,
  state: string | undefined,
  maintenance: string | undefined,
): NodeQuery & { fields: string } {
  const q: NodeQuery & { fields: string } = { limit, fields: FIELDS };
  if (marker) q.marker = marker;
  if (state) q.provision_state = state;
  if (maintenance === "true" || maintenance === "false") q.maintenance = maintenance;
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
