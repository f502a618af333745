import { describe, expect, it } from "vitest";
import en from "./en.json";
import zh from "./zh.json";

/** Every leaf key of a catalogue, dotted ("menu.nodes"). */
function keys(tree: object, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([k, v]) =>
    v !== null && typeof v === "object" ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function leaves(tree: object, prefix = ""): [string, unknown][] {
  return Object.entries(tree).flatMap(([k, v]) =>
    v !== null && typeof v === "object"
      ? leaves(v as object, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v] as [string, unknown]],
  );
}

describe("the catalogues", () => {
  it("have the same keys in English and Chinese", () => {
    const enKeys = new Set(keys(en));
    const zhKeys = new Set(keys(zh));
    expect([...enKeys].filter((k) => !zhKeys.has(k)), "missing in zh.json").toEqual([]);
    expect([...zhKeys].filter((k) => !enKeys.has(k)), "missing in en.json").toEqual([]);
  });

  it("have no empty strings", () => {
    for (const [key, value] of [...leaves(en), ...leaves(zh)]) {
      expect(typeof value === "string" && value.length > 0, key).toBe(true);
    }
  });

  it("keep the same placeholders in both languages", () => {
    const zhMap = new Map(leaves(zh));
    for (const [key, value] of leaves(en)) {
      const holes = (s: unknown) => String(s).match(/\{\{\w+\}\}/g)?.sort() ?? [];
      expect(holes(zhMap.get(key)), key).toEqual(holes(value));
    }
  });
});

describe("the values the API sends", () => {
  it("have a label in both languages", async () => {
    const { HOST_STATUSES, POWER_STATES, PROVISION_STATES } = await import("../states");
    const groups: [string, readonly string[]][] = [
      ["provisionState", PROVISION_STATES],
      ["powerState", POWER_STATES],
      ["hostStatus", HOST_STATUSES],
    ];
    for (const catalogue of [en, zh] as unknown as Record<string, Record<string, string>>[]) {
      for (const [group, values] of groups) {
        for (const value of values) expect(catalogue[group]?.[value], `${group}.${value}`).toBeTruthy();
      }
    }
  });
});
