// Buttons follow the caller's operations (/api/v1/auth/me): who may not, does not see them.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import { App as AntApp } from "antd";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tokenStore } from "../api/client";
import type { Me } from "../api/types";
import { ME_KEY } from "../auth";
import { setLanguage } from "../i18n";
import Flavors from "./Flavors";
import Hosts from "./Hosts";
import Nodes from "./Nodes";

const ops = (allow: string[]): Me["operations"] =>
  Object.fromEntries(allow.map((op) => [op, "allow"])) as Me["operations"];
const me = (allow: string[]): Me => ({
  id: 1, name: "u", is_admin: false, roles: [], projects: {}, departments: [], operations: ops(allow),
});

afterEach(() => {
  tokenStore.clear();
  vi.restoreAllMocks();
});

function renderAs(who: Me, page: ReactNode) {
  tokenStore.set("t");
  setLanguage("en");
  // every list answers empty
  vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
    new Response(JSON.stringify({ nodes: [], hosts: [], flavors: [], projects: [] }), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    }),
  );
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  qc.setQueryData(ME_KEY, who);
  return render(
    <QueryClientProvider client={qc}>
      <AntApp>
        <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>{page}</MemoryRouter>
      </AntApp>
    </QueryClientProvider>,
  );
}

describe("buttons by permission", () => {
  it("nodes: register, import, export and bulk actions only for who may", () => {
    const view = renderAs(me(["node:read", "node:create", "node:import", "node:export", "node:update"]), <Nodes />);
    expect(screen.getByTestId("node-register")).toBeTruthy();
    expect(screen.getByTestId("node-import")).toBeTruthy();
    expect(screen.getByText("Export")).toBeTruthy();
    expect(screen.getByTestId("bulk-actions")).toBeTruthy();
    view.unmount();
    renderAs(me(["node:read"]), <Nodes />);
    expect(screen.queryByTestId("node-register")).toBeNull();
    expect(screen.queryByTestId("node-import")).toBeNull();
    expect(screen.queryByText("Export")).toBeNull();
    expect(screen.queryByTestId("bulk-actions")).toBeNull();
  });

  it("flavors: create only with flavor:create", () => {
    const view = renderAs(me(["flavor:read", "flavor:create"]), <Flavors />);
    expect(screen.getByTestId("flavor-create")).toBeTruthy();
    view.unmount();
    renderAs(me(["flavor:read"]), <Flavors />);
    expect(screen.queryByTestId("flavor-create")).toBeNull();
  });

  it("hosts: create for a project user in a project ('joined'), not with deny", () => {
    const joined = { ...me([]), operations: { "host:read": "joined", "host:create": "joined" } } as Me;
    const view = renderAs(joined, <Hosts />);
    expect(screen.getByTestId("host-create")).toBeTruthy();
    view.unmount();
    const denied = { ...me([]), operations: { "host:read": "joined", "host:create": "deny" } } as Me;
    renderAs(denied, <Hosts />);
    expect(screen.queryByTestId("host-create")).toBeNull();
  });
});
