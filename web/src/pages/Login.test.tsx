import { fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setLanguage } from "../i18n";
import Login from "./Login";

afterEach(() => vi.unstubAllGlobals());

describe("log-in", () => {
  it("shows the API's sentence when it refuses (a locked account)", async () => {
    const sentence = "user ada is locked after 3 failed log-ins: an admin unlocks it";
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        new Response(JSON.stringify({ title: "Unauthorized", status: 401, detail: sentence }), {
          status: 401,
          headers: { "Content-Type": "application/problem+json" },
        }),
      ),
    );
    setLanguage("en");
    render(
      <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <Login />
      </MemoryRouter>,
    );
    fireEvent.change(screen.getByLabelText("User name"), { target: { value: "ada" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "nope" } });
    fireEvent.click(screen.getByRole("button", { name: /Log in/ }));
    expect(await screen.findByText(sentence, {}, { timeout: 30_000 })).toBeTruthy();
  });
});
