// Providers (Ant Design's locale following ours, TanStack Query) and the routes; each page is
// its own chunk, loaded when first shown.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App as AntApp, ConfigProvider, Spin } from "antd";
import enUS from "antd/locale/en_US";
import zhCN from "antd/locale/zh_CN";
import { lazy, Suspense, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { ApiError, setUnauthorizedHandler, tokenStore } from "./api/client";
import { useMe } from "./auth";
import AppLayout from "./AppLayout";
import { allowed, type Need } from "./permissions";

const Login = lazy(() => import("./pages/Login"));
const Overview = lazy(() => import("./pages/Overview"));
const loadNodes = () => import("./pages/Nodes");
const Nodes = lazy(loadNodes);
// Opened on the node list, its chunk loads along with the log-in check instead of after it
// (one round trip less before the first rows).
if (/^\/console\/nodes\/?$/.test(window.location.pathname)) void loadNodes();
const NodeDetail = lazy(() => import("./pages/NodeDetail"));
const Hosts = lazy(() => import("./pages/Hosts"));
const HostDetail = lazy(() => import("./pages/HostDetail"));
const Flavors = lazy(() => import("./pages/Flavors"));
const Images = lazy(() => import("./pages/Images"));
const Zones = lazy(() => import("./pages/Zones"));
const Departments = lazy(() => import("./pages/Departments"));
const Projects = lazy(() => import("./pages/Projects"));
const Users = lazy(() => import("./pages/Users"));
const Audit = lazy(() => import("./pages/Audit"));
const License = lazy(() => import("./pages/License"));
const NotFound = lazy(() => import("./pages/NotFound"));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, err) => !(err instanceof ApiError && err.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

setUnauthorizedHandler(() => {
  tokenStore.clear();
  queryClient.clear();
  if (!window.location.pathname.endsWith("/login")) window.location.assign("/console/login");
});

/** React Router 7's behaviour now (and no warning about it in the console). */
const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true } as const;

const spinner = <Spin style={{ display: "block", margin: "64px auto" }} />;

function RequireAuth({ children }: { children: ReactNode }) {
  const location = useLocation();
  const me = useMe();
  if (tokenStore.get() === null || me.isError) {
    return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  }
  if (!me.data) return spinner;
  return <>{children}</>;
}

function Gate({ need, children }: { need: Need; children: ReactNode }) {
  const me = useMe();
  return allowed(me.data, need) ? <>{children}</> : <NotFound />;
}

/** A route shown only to callers the permission table lets do `need`. */
function gated(path: string, need: Need, page: ReactNode) {
  return (
    <Route
      path={path}
      element={
        <Gate need={need}>
          {page}
        </Gate>
      }
    />
  );
}

export default function App() {
  const { i18n } = useTranslation();
  return (
    <ConfigProvider locale={i18n.language === "zh" ? zhCN : enUS}>
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <BrowserRouter basename="/console" future={ROUTER_FUTURE}>
            <Suspense fallback={spinner}>
              <Routes>
                <Route path="/login" element={<Login />} />
                <Route
                  element={
                    <RequireAuth>
                      <AppLayout />
                    </RequireAuth>
                  }
                >
                  <Route index element={<Overview />} />
                  <Route
                    path="nodes"
                    element={
                      <Gate need="node:read">
                        <Nodes />
                      </Gate>
                    }
                  />
                  <Route
                    path="nodes/:ident"
                    element={
                      <Gate need="node:read">
                        <NodeDetail />
                      </Gate>
                    }
                  />
                  {gated("hosts", "host:read", <Hosts />)}
                  {gated("hosts/:ident", "host:read", <HostDetail />)}
                  {gated("flavors", "flavor:read", <Flavors />)}
                  {gated("images", "image:read", <Images />)}
                  {gated("zones", "availability_zone:read", <Zones />)}
                  {gated("departments", "department:read", <Departments />)}
                  {gated("projects", "project:read", <Projects />)}
                  {gated("users", "user:read", <Users />)}
                  {gated("audit", "audit:read", <Audit />)}
                  {gated("license", "license:read", <License />)}
                  <Route path="*" element={<NotFound />} />
                </Route>
              </Routes>
            </Suspense>
          </BrowserRouter>
        </QueryClientProvider>
      </AntApp>
    </ConfigProvider>
  );
}
