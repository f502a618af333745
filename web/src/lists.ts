// Lists other pages choose from (projects, departments, users, flavors, images), cached.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./api/client";
import type { Department, Flavor, Image, Project, Quotas, User } from "./api/types";

export function useProjects(enabled = true) {
  return useQuery({
    queryKey: ["projects"],
    enabled,
    queryFn: async () => (await unwrap(api.GET("/api/v1/projects"))) as { projects: Project[] },
  });
}

export function useDepartments(enabled = true) {
  return useQuery({
    queryKey: ["departments"],
    enabled,
    queryFn: async () => (await unwrap(api.GET("/api/v1/departments"))) as { departments: Department[] },
  });
}

export function useUsers(enabled = true) {
  return useQuery({
    queryKey: ["users"],
    enabled,
    queryFn: async () => (await unwrap(api.GET("/api/v1/users"))) as { users: User[] },
  });
}

export function useFlavors(query: Record<string, string> = {}, enabled = true) {
  return useQuery({
    queryKey: ["flavors", query],
    enabled,
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/flavors", { params: { query: query as never } }))) as { flavors: Flavor[] },
  });
}

export function useImages(enabled = true, poll = false) {
  return useQuery({
    queryKey: ["images"],
    enabled,
    queryFn: async () => (await unwrap(api.GET("/api/v1/images"))) as { images: Image[] },
    refetchInterval: (q) =>
      poll && (q.state.data as { images: Image[] } | undefined)?.images.some((i) => i.status === "importing")
        ? 3000
        : false,
  });
}

export function options<T extends { name: string }>(items: readonly T[] | undefined) {
  return (items ?? []).map((i) => ({ value: i.name, label: i.name }));
}

/** A form's quotas for the API: an empty field is no limit (null). */
export function quotaBody<T extends Partial<Quotas>>(v: T): T {
  const out = { ...v } as Record<string, unknown>;
  for (const k of ["quota_hosts", "quota_nodes", "quota_cores", "quota_ram_mb"]) out[k] = out[k] ?? null;
  return out as T;
}
