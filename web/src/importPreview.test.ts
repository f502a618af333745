import { describe, expect, it } from "vitest";
import { badRows, cellKey, csvRecords, parsePreview, placeErrors } from "./importPreview";

const CSV = 'name,driver,cpus\r\nn1,fake-hardware,8\r\n\r\n"n,2","fake ""x""",many\r\n';

describe("the import preview", () => {
  it("reads CSV as the server does: quotes, empty rows numbered but skipped", () => {
    expect(csvRecords("a;b\n1;2")).toEqual([["a", "b"], ["1", "2"]]);
    const p = parsePreview(CSV);
    expect(p.header).toEqual(["name", "driver", "cpus"]);
    expect(p.rows.map((r) => r.row)).toEqual([2, 4]);
    expect(p.rows[1]!.cells).toEqual({ name: "n,2", driver: 'fake "x"', cpus: "many" });
  });

  it("places each error on its row and column, else on the row, else on the file", () => {
    const p = parsePreview(CSV);
    const placed = placeErrors(p, [
      { row: 4, column: "cpus", message: "cpus must be a whole number" },
      { row: 4, column: "macs", message: "duplicate MAC" },
      { row: 2, column: null, message: "name already enrolled" },
      { row: 1, column: "colour", message: "unknown column" },
      { row: null, column: null, message: "license exceeded" },
    ]);
    expect(placed.cells.get(cellKey(4, "cpus"))).toEqual(["cpus must be a whole number"]);
    expect(placed.rows.get(4)).toEqual(["macs: duplicate MAC"]);
    expect(placed.rows.get(2)).toEqual(["name already enrolled"]);
    expect(placed.file).toEqual(["colour: unknown column", "license exceeded"]);
    expect(badRows([{ row: 4, column: "a", message: "" }, { row: 4, column: "b", message: "" }])).toBe(1);
  });
});
