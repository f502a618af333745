import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it } from "vitest";
import { tokenStore } from "./api/client";
import type { Me } from "./api/types";
import AppLayout from "./AppLayout";
import { ME_KEY } from "./auth";
import { setLanguage } from "./i18n";
import { visibleMenu } from "./permissions";

const admin: Me = {
  id: 1, name: "admin", is_admin: true, roles: ["admin"], projects: {}, departments: [],
  operations: { "node:read": "allow", "host:read": "allow" },
};
const member: Me = {
  id: 2, name: "mia", is_admin: false, roles: ["member"], projects: { "1": "member" },
  departments: [], operations: { "node:read": "deny", "host:read": "joined" },
};
const nobody: Me = { ...member, operations: { "node:read": "deny", "host:read": "deny" } };

afterEach(() => tokenStore.clear());

function menuOf(me: Me): string[] {
  tokenStore.set("t");
  const qc = new QueryClient();
  qc.setQueryData(ME_KEY, me);
  const view = render(
    <QueryClientProvider client={qc}>
      <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <AppLayout />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  const items = within(screen.getByTestId("main-menu")).getAllByRole("menuitem");
  const labels = items.map((i) => i.textContent ?? "");
  view.unmount();
  return labels;
}

describe("menus follow the operations /auth/me allows", () => {
  it("show a cloud admin the node pages", () => {
    expect(visibleMenu(admin).map((m) => m.key)).toEqual(["overview", "nodes", "hosts"]);
  });

  it("hide every admin menu from a member", () => {
    expect(visibleMenu(member).map((m) => m.key)).toEqual(["overview", "hosts"]);
    expect(visibleMenu(undefined)).toEqual([]);
  });

  it("follow the operations the server names, not the role", () => {
    expect(visibleMenu(nobody).map((m) => m.key)).toEqual(["overview"]);
    expect(visibleMenu({ ...member, operations: {} }).map((m) => m.key)).toEqual(["overview"]);
  });

  it("render only the allowed menus, in the chosen language", () => {
    setLanguage("en");
    expect(menuOf(admin)).toEqual(["Overview", "Nodes", "Hosts"]);
    expect(menuOf(member)).toEqual(["Overview", "Hosts"]);
    setLanguage("zh");
    expect(menuOf(member)).toEqual(["概览", "主机"]);
    setLanguage("en");
  });
});
