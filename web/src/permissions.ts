// Which menus the caller sees. Today /api/v1/auth/me tells whether the caller is a cloud admin
// and their roles; the node pages are the cloud admin's (domain/policy.py: node:* is admin-only).
// When /auth/me names the operations the caller may perform (issue 12, item 2), `needs`
// becomes an operation and `allowed` looks it up there.
import type { Me } from "./api/types";

export type Need = "admin" | "any";

export interface MenuEntry {
  key: string;
  path: string;
  label: string; // an i18n key
  needs: Need;
}

export const MENU: readonly MenuEntry[] = [
  { key: "overview", path: "/", label: "menu.overview", needs: "any" },
  { key: "nodes", path: "/nodes", label: "menu.nodes", needs: "admin" },
  { key: "hosts", path: "/hosts", label: "menu.hosts", needs: "any" },
];

export function allowed(me: Me | undefined, need: Need): boolean {
  if (!me) return false;
  return need === "any" || me.is_admin;
}

export function visibleMenu(me: Me | undefined): MenuEntry[] {
  return MENU.filter((m) => allowed(me, m.needs));
}
