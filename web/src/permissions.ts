// Which menus the caller sees: /api/v1/auth/me names, for every operation of the permission
// table (domain/policy.py, docs/permissions.md), what the caller may do there ("allow",
// "joined", "dept" or "deny"). A menu entry names the operation its page needs, so the menus
// follow the server's table without a copy of it here.
import type { Me } from "./api/types";

// an operation of the permission table such as "node:read", or "any" logged-in user
export type Need = string;

export interface MenuEntry {
  key: string;
  path: string;
  label: string; // an i18n key
  needs: Need;
}

export const MENU: readonly MenuEntry[] = [
  { key: "overview", path: "/", label: "menu.overview", needs: "any" },
  { key: "nodes", path: "/nodes", label: "menu.nodes", needs: "node:read" },
  { key: "hosts", path: "/hosts", label: "menu.hosts", needs: "host:read" },
  { key: "flavors", path: "/flavors", label: "menu.flavors", needs: "flavor:read" },
  { key: "images", path: "/images", label: "menu.images", needs: "image:read" },
  { key: "zones", path: "/zones", label: "menu.zones", needs: "availability_zone:read" },
  { key: "departments", path: "/departments", label: "menu.departments", needs: "department:read" },
  { key: "projects", path: "/projects", label: "menu.projects", needs: "project:read" },
  { key: "users", path: "/users", label: "menu.users", needs: "user:read" },
  { key: "audit", path: "/audit", label: "menu.audit", needs: "audit:read" },
  { key: "license", path: "/license", label: "menu.license", needs: "license:read" },
];

export function allowed(me: Me | undefined, need: Need): boolean {
  if (!me) return false;
  if (need === "any") return true;
  const cell = me.operations[need];
  return cell !== undefined && cell !== "deny";
}

export function visibleMenu(me: Me | undefined): MenuEntry[] {
  return MENU.filter((m) => allowed(me, m.needs));
}
