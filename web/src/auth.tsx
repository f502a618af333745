// The session: the token (sessionStorage, client.ts) and who the caller is (/api/v1/auth/me).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { api, tokenStore, unwrap } from "./api/client";
import type { Me, Token } from "./api/types";

export const ME_KEY = ["auth", "me"] as const;

export function useMe() {
  return useQuery({
    queryKey: ME_KEY,
    queryFn: async () => (await unwrap(api.GET("/api/v1/auth/me"))) as Me,
    enabled: tokenStore.get() !== null,
    retry: false,
    staleTime: 60_000,
  });
}

export async function logIn(username: string, password: string): Promise<void> {
  const out = (await unwrap(
    api.POST("/api/v1/auth/tokens", { body: { username, password } }),
  )) as Token;
  tokenStore.set(out.token);
}

export function useLogOut(): () => Promise<void> {
  const qc = useQueryClient();
  return useCallback(async () => {
    try {
      await api.DELETE("/api/v1/auth/tokens");
    } finally {
      tokenStore.clear();
      qc.clear();
    }
  }, [qc]);
}
