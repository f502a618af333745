import { describe, expect, it } from "vitest";
import { toApiError } from "./client";

describe("errors keep the API's sentence", () => {
  it("from problem+json, with the field", () => {
    const e = toApiError(400, { title: "Bad", status: 400, detail: "limit must be …", field: "limit" });
    expect([e.status, e.message, e.field]).toEqual([400, "limit must be …", "limit"]);
  });

  it("from Ironic's error_message", () => {
    const body = { error_message: JSON.stringify({ faultstring: "Node x could not be found." }) };
    expect(toApiError(404, body).message).toBe("Node x could not be found.");
    expect(toApiError(406, { error_message: "plain" }).message).toBe("plain");
  });

  it("or the status when there is none", () => {
    expect(toApiError(502, undefined).message).toBe("HTTP 502");
  });
});

describe("empty answers", () => {
  it("are read, so the browser does not count the request as aborted", async () => {
    const { api } = await import("./client");
    const answer = new Response("", { status: 202, headers: { "Content-Length": "0" } });
    const real = globalThis.fetch;
    globalThis.fetch = (async () => answer) as typeof fetch;
    try {
      const out = await api.PUT("/v1/nodes/{ident}/states/power", {
        params: { path: { ident: "n1" } },
        body: { target: "power on" } as never,
      });
      expect(out.response.status).toBe(202);
      expect(answer.bodyUsed).toBe(true);
    } finally {
      globalThis.fetch = real;
    }
  });
});
