import { describe, expect, it } from "vitest";
import { bmcValue, patchOf, provisionActions } from "./nodeLogic";

describe("node page logic", () => {
  it("masks BMC secrets whatever the API sent", () => {
    expect(bmcValue("ipmi_password", "hunter2")).toBe("******");
    expect(bmcValue("redfish_password", "******")).toBe("******");
    expect(bmcValue("ipmi_address", "10.0.0.1")).toBe("10.0.0.1");
    expect(bmcValue("ipmi_port", 623)).toBe("623");
  });

  it("offers the provision actions of the state", () => {
    expect(provisionActions("enroll")).toEqual(["manage"]);
    expect(provisionActions("manageable")).toContain("provide");
    expect(provisionActions("deploying")).toEqual([]);
  });

  it("patches only what changed", () => {
    const before = { address: "aa", pxe_enabled: true, portgroup_uuid: "g1", physical_network: null };
    expect(patchOf(before, { address: "aa", pxe_enabled: false, portgroup_uuid: null, physical_network: "phys" })).toEqual([
      { op: "replace", path: "/pxe_enabled", value: false },
      { op: "remove", path: "/portgroup_uuid" },
      { op: "add", path: "/physical_network", value: "phys" },
    ]);
    expect(patchOf(before, { ...before })).toEqual([]);
  });
});
