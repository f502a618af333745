import { describe, expect, it } from "vitest";
import { countBy, nodeQuery } from "./queries";

describe("the nodes query", () => {
  it("pages by marker, sorted by name, with no filter when none is set", () => {
    expect(nodeQuery(20, undefined, {})).toEqual({ limit: 20, sort_key: "name" });
    expect(nodeQuery(50, "u1", {})).toEqual({ limit: 50, sort_key: "name", marker: "u1" });
  });

  it("maps every filter to its server parameter", () => {
    expect(
      nodeQuery(20, undefined, {
        name: "  rack1 ",
        provision_state: "available",
        power_state: "power on",
        cpu_arch: "aarch64",
        availability_zone: "rack-a",
        maintenance: "true",
      }),
    ).toEqual({
      limit: 20,
      sort_key: "name",
      name: "rack1",
      provision_state: "available",
      power_state: "power on",
      cpu_arch: "aarch64",
      availability_zone: "rack-a",
      maintenance: true,
    });
  });

  it("leaves out blank names and cleared selects, and keeps maintenance=false", () => {
    expect(
      nodeQuery(100, "u9", { name: "   ", provision_state: undefined, cpu_arch: "", maintenance: "false" }),
    ).toEqual({ limit: 100, sort_key: "name", marker: "u9", maintenance: false });
    expect(nodeQuery(20, undefined, { maintenance: "perhaps" })).toEqual({ limit: 20, sort_key: "name" });
  });
});

describe("overview counts", () => {
  it("count by key, largest first", () => {
    expect(countBy(["a", "b", "a"], (x) => x)).toEqual([["a", 2], ["b", 1]]);
  });
});
