// The frame of every page after log-in: the menu (only what the caller may use), the language
// switch and the user menu.
import { Button, Dropdown, Layout, Menu, Segmented, Space, Spin, Typography } from "antd";
import { Suspense } from "react";
import { useTranslation } from "react-i18next";
import { Link, Outlet, useLocation, useNavigate } from "react-router-dom";
import { useLogOut, useMe } from "./auth";
import { LANGUAGES, setLanguage, type Language } from "./i18n";
import { visibleMenu } from "./permissions";

export default function AppLayout() {
  const { t, i18n } = useTranslation();
  const me = useMe();
  const logOut = useLogOut();
  const navigate = useNavigate();
  const location = useLocation();
  const menu = visibleMenu(me.data);
  const current = menu.find((m) => m.path !== "/" && location.pathname.startsWith(m.path));
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Sider breakpoint="lg" collapsedWidth={0} theme="light">
        <Typography.Title level={4} style={{ padding: "16px 24px", margin: 0 }}>
          {t("app.title")}
        </Typography.Title>
        <Menu
          mode="inline"
          data-testid="main-menu"
          selectedKeys={[current?.key ?? "overview"]}
          items={menu.map((m) => ({ key: m.key, label: <Link to={m.path}>{t(m.label)}</Link> }))}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{ background: "#fff", display: "flex", justifyContent: "flex-end", gap: 16 }}
        >
          <Space>
            <Segmented
              aria-label={t("menu.language")}
              value={i18n.language}
              options={Object.entries(LANGUAGES).map(([value, label]) => ({ value, label }))}
              onChange={(v) => setLanguage(v as Language)}
            />
            <Dropdown
              menu={{
                items: [{ key: "logout", label: t("menu.logout") }],
                onClick: async () => {
                  await logOut();
                  navigate("/login");
                },
              }}
            >
              <Button data-testid="user-menu">{me.data?.name}</Button>
            </Dropdown>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ margin: 24 }}>
          <Suspense fallback={<Spin />}>
            <Outlet />
          </Suspense>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
