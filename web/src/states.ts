// Ironic's provision states (ironworks/domain/states.py), for the nodes filter.
export const PROVISION_STATES = [
  "enroll", "verifying", "manageable", "inspecting", "inspect wait", "inspect failed",
  "cleaning", "clean wait", "clean failed", "available", "deploying", "wait call-back",
  "deploy failed", "active", "deleting", "error", "rescuing", "rescue wait", "rescue",
  "rescue failed", "unrescuing", "unrescue failed", "adopting", "adopt failed",
] as const;

export const POWER_STATES = ["power on", "power off"] as const;

export const HOST_STATUSES = [
  "building", "active", "stopped", "rebuilding", "deleting", "error",
] as const;
