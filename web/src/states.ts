import type { TFunction } from "i18next";

// Ironic's provision states (ironworks/domain/states.py), for the nodes filter.
export const PROVISION_STATES = [
  "enroll", "verifying", "manageable", "inspecting", "inspect wait", "inspect failed",
  "cleaning", "clean wait", "clean failed", "available", "deploying", "wait call-back",
  "deploy failed", "active", "deleting", "error", "rescuing", "rescue wait", "rescue",
  "rescue failed", "unrescuing", "unrescue failed", "adopting", "adopt failed",
  "inspect confirm", "clean confirm", "deploy confirm",
] as const;

export const POWER_STATES = ["power on", "power off"] as const;

export const HOST_STATUSES = [
  "building", "active", "stopped", "rebuilding", "deleting", "error",
] as const;

/** Tag colours of host statuses. */
export const HOST_COLORS: Record<string, string> = {
  active: "green", error: "red", building: "blue", rebuilding: "blue", deleting: "orange",
};

export type StateGroup = "provisionState" | "powerState" | "hostStatus";

/** The label of a value the API sends, in the user's language (the value itself if new). */
export function stateLabel(t: TFunction, group: StateGroup, value: string): string {
  return t(`${group}.${value}`, { defaultValue: value });
}
