import { describe, expect, it } from "vitest";
import { countBy, nodeQuery } from "./queries";

describe("the nodes query", () => {
  it("pages by marker and sends only the filters set", () => {
    expect(nodeQuery(20, undefined, undefined, undefined)).toEqual({
      limit: 20,
      fields:
        "uuid,name,provision_state,power_state,maintenance,instance_uuid,target_provision_state,target_power_state",
    });
    expect(nodeQuery(50, "u1", "available", "true")).toMatchObject({
      limit: 50, marker: "u1", provision_state: "available", maintenance: "true",
    });
  });
});

describe("overview counts", () => {
  it("count by key, largest first", () => {
    expect(countBy(["a", "b", "a"], (x) => x)).toEqual([["a", 2], ["b", 1]]);
  });
});
