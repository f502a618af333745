// Overview (a first version): counts of nodes by provision state (cloud admins) and of the
// caller's hosts by status. The charts of the resource pool come later.
import { useQuery } from "@tanstack/react-query";
import { Alert, Card, Col, Row, Statistic, Table, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import type { HostPage, NodePage } from "../api/types";
import { useMe } from "../auth";
import { allowed } from "../permissions";
import { countBy } from "../queries";
import { stateLabel } from "../states";
import ErrorAlert from "./ErrorAlert";

const MAX = 1000; // the API's largest page

function Counts({ title, rows }: { title: string; rows: [string, number][] }) {
  return (
    <Card title={title} size="small">
      <Table
        size="small"
        pagination={false}
        rowKey={(r) => r[0]}
        dataSource={rows}
        showHeader={false}
        columns={[
          { dataIndex: 0, key: "k" },
          { dataIndex: 1, key: "v", align: "right" },
        ]}
      />
    </Card>
  );
}

export default function Overview() {
  const { t } = useTranslation();
  const me = useMe();
  const admin = allowed(me.data, "node:read");
  const nodes = useQuery({
    queryKey: ["overview", "nodes"],
    enabled: admin,
    queryFn: async () =>
      (await unwrap(
        api.GET("/v1/nodes", {
          params: { query: { limit: MAX, fields: "uuid,provision_state" } as never },
        }),
      )) as NodePage,
  });
  const hosts = useQuery({
    queryKey: ["overview", "hosts"],
    queryFn: async () =>
      (await unwrap(
        api.GET("/api/v1/hosts", { params: { query: { limit: MAX } as never } }),
      )) as HostPage,
  });
  const nodeCount = nodes.data?.nodes.length ?? 0;
  const hostCount = hosts.data?.hosts.length ?? 0;
  const more = (n: number, partial: boolean) =>
    partial ? t("overview.atLeast", { count: n }) : String(n);
  return (
    <>
      <Typography.Title level={3}>{t("overview.title")}</Typography.Title>
      <Alert type="info" message={t("overview.placeholder")} style={{ marginBottom: 16 }} />
      <ErrorAlert error={nodes.error ?? hosts.error} />
      <Row gutter={[16, 16]}>
        {admin && (
          <Col xs={24} md={12}>
            <Card>
              <Statistic
                title={t("overview.nodes")}
                loading={nodes.isLoading}
                value={more(nodeCount, Boolean(nodes.data?.next))}
              />
            </Card>
          </Col>
        )}
        <Col xs={24} md={12}>
          <Card>
            <Statistic
              title={t("overview.hosts")}
              loading={hosts.isLoading}
              value={more(hostCount, Boolean(hosts.data?.next_marker))}
            />
          </Card>
        </Col>
        {admin && (
          <Col xs={24} md={12}>
            <Counts
              title={t("overview.byProvisionState")}
              rows={countBy(nodes.data?.nodes ?? [], (n) => stateLabel(t, "provisionState", n.provision_state))}
            />
          </Col>
        )}
        <Col xs={24} md={12}>
          <Counts
            title={t("overview.byHostStatus")}
            rows={countBy(hosts.data?.hosts ?? [], (h) => stateLabel(t, "hostStatus", h.status))}
          />
        </Col>
      </Row>
    </>
  );
}
