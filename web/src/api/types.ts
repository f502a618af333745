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
