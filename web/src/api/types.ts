// The shapes of answers the API does not declare yet: today these operations answer untyped
// objects in openapi.json (the typed /api/v1 is issue 12, item 2). When the document declares
// them, these aliases become `components["schemas"][...]` of schema.d.ts.

import type { components } from "./schema";

export type Role = "admin" | "dept_admin" | "project_admin" | "member";

/** GET /api/v1/auth/me: declared by the API (its operations follow domain/policy.py). */
export type Me = components["schemas"]["Me"];

/** POST /api/v1/auth/tokens */
export interface Token {
  token: string;
  expires_at?: string;
}

/** One node of GET /v1/nodes?fields=... */
export interface NodeRow {
  uuid: string;
  name: string | null;
  provision_state: string;
  power_state: string | null;
  maintenance: boolean;
  driver?: string;
  properties?: Record<string, unknown>;
  instance_uuid?: string | null;
  target_provision_state?: string | null;
  target_power_state?: string | null;
}

/** GET /v1/nodes */
export interface NodePage {
  nodes: NodeRow[];
  next?: string;
}

/** One host of GET /api/v1/hosts */
export interface HostRow {
  uuid: string;
  name: string;
  status: string;
  status_reason: string | null;
  project: string;
  flavor: { name: string; cpus: number; memory_mb: number; local_gb: number };
  cpu_arch: string | null;
  image: string | null;
  availability_zone: string | null;
  node_uuid: string | null;
  created_at: string | null;
}

/** GET /api/v1/hosts */
export interface HostPage {
  hosts: HostRow[];
  next_marker?: string;
}

/** GET /v1/nodes/{ident}: the fields the node page shows (Ironic's node, latest version). */
export interface NodeDetail extends NodeRow {
  driver: string;
  driver_info: Record<string, unknown>;
  driver_internal_info: Record<string, unknown> & { timeline?: Phase[] };
  properties: Record<string, unknown>;
  instance_info: Record<string, unknown>;
  target_provision_state: string | null;
  target_power_state: string | null;
  maintenance_reason: string | null;
  last_error: string | null;
  resource_class: string | null;
  description: string | null;
  traits?: string[];
  created_at: string;
  updated_at: string | null;
  provision_updated_at: string | null;
}

/** One phase of `driver_internal_info.timeline` (ironworks/domain/phases.py). */
export interface Phase {
  phase: string;
  started: string;
  finished: string | null;
}

/** A disk of `properties.disks` (the agent's inventory). */
export interface Disk {
  name?: string;
  size?: number; // bytes
  size_gb?: number;
  serial?: string | null;
  model?: string | null;
  rotational?: boolean | null;
}

/** GET /v1/nodes/{node}/ports/detail */
export interface Port {
  uuid: string;
  address: string;
  node_uuid: string;
  portgroup_uuid: string | null;
  pxe_enabled: boolean;
  physical_network: string | null;
  local_link_connection: Record<string, string>;
  extra: Record<string, unknown>;
  created_at: string;
}

/** GET /v1/nodes/{node}/portgroups/detail */
export interface Portgroup {
  uuid: string;
  name: string | null;
  address: string | null;
  node_uuid: string;
  mode: string | null;
  standalone_ports_supported: boolean;
  properties: Record<string, unknown>;
  created_at: string;
}

/** GET /v1/nodes/{ident}/history?detail=true */
export interface HistoryEvent {
  uuid: string;
  created_at: string;
  severity: string;
  event: string;
  event_type?: string;
  user?: string | null;
  from_state?: string | null;
  state?: string | null;
  duration?: number | null;
}

/** GET /api/v1/audit-events */
export interface AuditEvent {
  uuid: string;
  created_at: string;
  user_name: string | null;
  project_name: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  outcome: string;
  status_code: number | null;
  detail: string | null;
  request_id: string | null;
  source: string | null;
  method: string | null;
  path: string | null;
}

export interface AuditPage {
  audit_events: AuditEvent[];
  next_marker?: string;
}

/** POST /api/v1/nodes/import: one error of the file (row 1 is the first data row). */
export interface RowError {
  row: number | null;
  column: string | null;
  message: string;
}

/** POST /api/v1/nodes/import: the report. */
export interface ImportReport {
  created: { row: number; name: string; uuid: string }[];
  errors: RowError[];
  skipped: number;
}

/** GET /api/v1/flavors */
export interface Flavor {
  uuid: string;
  name: string;
  description: string | null;
  cpus: number;
  memory_mb: number;
  local_gb: number;
  cpu_arch: string | null;
  resource_class: string | null;
  capabilities: Record<string, string>;
  is_public: boolean;
  projects?: string[];
  created_at: string;
}

/** GET /api/v1/images */
export interface Image {
  uuid: string;
  name: string;
  kind: string;
  cpu_arch: string;
  disk_format: string | null;
  visibility: string;
  status: string;
  error: string | null;
  source_url: string | null;
  size: number | null;
  sha256: string | null;
  min_disk_gb: number;
  project?: string | null;
  created_at: string;
}

/** The quotas of a department or a project (null: no limit). */
export interface Quotas {
  quota_hosts: number | null;
  quota_nodes: number | null;
  quota_cores: number | null;
  quota_ram_mb: number | null;
}

export interface Department extends Quotas {
  uuid: string;
  name: string;
  description: string | null;
  admins?: string[];
  projects?: number;
  created_at: string;
}

export interface Project extends Quotas {
  uuid: string;
  name: string;
  description: string | null;
  department?: string;
  members?: { user: string; role: string }[];
  created_at: string;
}

export interface User {
  uuid: string;
  name: string;
  display_name: string | null;
  email: string | null;
  is_admin: boolean;
  enabled: boolean;
  failed_logins: number;
  locked_until: string | null;
  created_at: string;
  projects: { project: string; role: string }[];
}

/** GET /api/v1/license */
export interface LicenseState {
  state: string;
  nodes_used: number;
  nodes_awaiting_acceptance: number;
  nodes_allowed: number | null;
  license: Record<string, unknown> | null;
}

/** GET /api/v1/hosts/{ident} */
export interface HostDetail extends HostRow {
  cpu_model: string | null;
  power_state: string | null;
  ip_addresses: string[];
  nics: components["schemas"]["HostNic"][];
  disks: Disk[];
  audit: AuditEvent[];
  updated_at: string | null;
}
