// The pure parts of the node pages: masking BMC secrets, the provision actions offered from
// a state, JSON patches from edited forms.

const SECRET = /pass|secret|token|key/i;

/** A driver_info value as shown: secrets masked whatever the API sent. */
export function bmcValue(key: string, value: unknown): string {
  if (SECRET.test(key)) return "******";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The provision actions Ironic allows from a state (a subset the console offers). */
export function provisionActions(state: string): string[] {
  switch (state) {
    case "enroll":
      return ["manage"];
    case "manageable":
      return ["provide", "inspect", "clean"];
    case "available":
      return ["manage"];
    case "clean failed":
    case "inspect failed":
      return ["manage"];
    case "deploy failed":
    case "error":
      return ["deleted"];
    default:
      return [];
  }
}

/** A JSON patch that sets (or, for empty values, removes) the given fields. */
export function patchOf(before: Record<string, unknown>, after: Record<string, unknown>) {
  const ops: { op: "add" | "remove" | "replace"; path: string; value?: unknown }[] = [];
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (value === old || (value === undefined && old === null)) continue;
    if (value === undefined || value === null || value === "") {
      if (old !== null && old !== undefined) ops.push({ op: "remove", path: `/${key}` });
    } else {
      ops.push({ op: old === undefined || old === null ? "add" : "replace", path: `/${key}`, value });
    }
  }
  return ops;
}

