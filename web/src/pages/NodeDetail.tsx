// One node (cloud admin): the PRD's fields (states, name, CPU cores, memory, local disk,
// architecture, CPU model, BMC settings with secrets masked, the host on it, UUID), its
// hardware (NICs, disks), ports and port groups, the deploy timeline as a chart of phases,
// the node's history and its audit. The page polls while work runs on the node.
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Descriptions, Popconfirm, Space, Spin, Table, Tabs, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { AuditPage, Disk, HistoryEvent, NodeDetail as Node } from "../api/types";
import { useMe } from "../auth";
import TimelineChart from "../components/TimelineChart";
import { formatBytes, formatMiB, formatSeconds, useDate } from "../format";
import { bmcValue, provisionActions } from "../nodeLogic";
import { allowed } from "../permissions";
import { stateLabel } from "../states";
import AuditTable from "./AuditTable";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";
import NodePorts from "./NodePorts";

const POLL_MS = 3000;
function busy(n: Node | undefined): boolean {
  return Boolean(n && (n.target_provision_state || n.target_power_state));
}

export default function NodeDetail() {
  const { t } = useTranslation();
  const { ident = "" } = useParams();
  const navigate = useNavigate();
  const date = useDate();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const key = ["node", ident];
  const node = useQuery({
    queryKey: key,
    queryFn: async () =>
      (await unwrap(api.GET("/v1/nodes/{ident}", { params: { path: { ident } } }))) as Node,
    refetchInterval: (q) => (busy(q.state.data as Node | undefined) ? POLL_MS : false),
  });
  const n = node.data;
  const history = useQuery({
    queryKey: [...key, "history", n?.provision_state],
    enabled: Boolean(n),
    queryFn: async () =>
      (await unwrap(
        api.GET("/v1/nodes/{ident}/history", {
          params: { path: { ident }, query: { detail: true } as never },
        }),
      )) as { history: HistoryEvent[] },
  });
  const audit = useQuery({
    queryKey: [...key, "audit", n?.uuid],
    enabled: Boolean(n) && can("audit:read"),
    queryFn: async () =>
      (await unwrap(
        api.GET("/api/v1/audit-events", {
          params: { query: { target_type: "node", target_id: n?.uuid, limit: 100 } as never },
        }),
      )) as AuditPage,
  });
  const refresh = [key];
  const power = useAction(
    (target: string) =>
      unwrap(api.PUT("/v1/nodes/{ident}/states/power", { params: { path: { ident } }, body: { target } as never })),
    { refresh, done: t("node.requested") },
  );
  const provision = useAction(
    (target: string) =>
      unwrap(api.PUT("/v1/nodes/{ident}/states/provision", { params: { path: { ident } }, body: { target } as never })),
    { refresh, done: t("node.requested") },
  );
  const maintenance = useAction(
    (on: boolean) =>
      on
        ? unwrap(api.PUT("/v1/nodes/{ident}/maintenance", { params: { path: { ident } }, body: {} as never }))
        : unwrap(api.DELETE("/v1/nodes/{ident}/maintenance", { params: { path: { ident } } })),
    { refresh, done: t("common.saved") },
  );
  const remove = useAction(
    () => unwrap(api.DELETE("/v1/nodes/{ident}", { params: { path: { ident } } })),
    { done: t("common.deleted"), refresh: [["nodes"]], onDone: () => navigate("/nodes") },
  );

  if (node.isLoading) return <Spin />;
  if (!n) return <ErrorAlert error={node.error} />;
  const props = n.properties ?? {};
  const none = t("common.none");
  const disks = (props.disks as Disk[] | undefined) ?? [];
  const nics = (props._nics as { address: string; local_link_connection?: Record<string, string> }[] | undefined) ?? [];
  const hostUuid = n.instance_uuid;

  return (
    <>
      <Space style={{ marginBottom: 8 }} wrap>
        <Link to="/nodes">{t("node.back")}</Link>
      </Space>
      <Typography.Title level={3}>
        {t("node.title", { name: n.name ?? n.uuid })} {busy(n) && <Spin size="small" />}
      </Typography.Title>
      <ErrorAlert error={node.error} />
      <Space wrap style={{ marginBottom: 16 }} data-testid="node-actions">
        {can("node:power") && (
          <>
            <Button loading={power.isPending} onClick={() => power.mutate("power on")}>{t("node.powerOn")}</Button>
            <Popconfirm title={t("node.confirmPowerOff")} onConfirm={() => power.mutate("power off")}>
              <Button>{t("node.powerOff")}</Button>
            </Popconfirm>
            <Popconfirm title={t("node.confirmReboot")} onConfirm={() => power.mutate("rebooting")}>
              <Button>{t("node.reboot")}</Button>
            </Popconfirm>
          </>
        )}
        {can("node:update") &&
          provisionActions(n.provision_state).map((a) => (
            <Button key={a} loading={provision.isPending} onClick={() => provision.mutate(a)}>
              {t(`node.action.${a}`)}
            </Button>
          ))}
        {can("node:maintenance") && (
          <Button onClick={() => maintenance.mutate(!n.maintenance)} loading={maintenance.isPending}>
            {n.maintenance ? t("node.endMaintenance") : t("node.startMaintenance")}
          </Button>
        )}
        {can("node:delete") && (
          <DeleteButton confirm={t("node.confirmDelete", { name: n.name ?? n.uuid })} onConfirm={() => remove.mutate(undefined)} small={false} />
        )}
        <Button onClick={() => void node.refetch()} loading={node.isFetching}>{t("common.refresh")}</Button>
      </Space>
      <Card size="small" style={{ marginBottom: 16 }}>
        <Descriptions column={{ xs: 1, md: 2, xl: 3 }} size="small" data-testid="node-fields">
          <Descriptions.Item label={t("nodes.name")}>{n.name ?? none}</Descriptions.Item>
          <Descriptions.Item label={t("nodes.uuid")}><Typography.Text code copyable>{n.uuid}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t("nodes.provisionState")}>
            <Tag>{stateLabel(t, "provisionState", n.provision_state)}</Tag>
            {n.target_provision_state && `→ ${stateLabel(t, "provisionState", n.target_provision_state)}`}
          </Descriptions.Item>
          <Descriptions.Item label={t("nodes.powerState")}>
            {n.power_state ? stateLabel(t, "powerState", n.power_state) : none}
            {n.target_power_state && ` → ${stateLabel(t, "powerState", n.target_power_state)}`}
          </Descriptions.Item>
          <Descriptions.Item label={t("nodes.maintenance")}>
            {n.maintenance ? <Tag color="orange">{n.maintenance_reason || t("common.yes")}</Tag> : t("common.no")}
          </Descriptions.Item>
          <Descriptions.Item label={t("node.cpus")}>{String(props.cpus ?? none)}</Descriptions.Item>
          <Descriptions.Item label={t("node.memory")}>{formatMiB(props.memory_mb as number | undefined)}</Descriptions.Item>
          <Descriptions.Item label={t("node.disk")}>{props.local_gb !== undefined ? `${String(props.local_gb)} GiB` : none}</Descriptions.Item>
          <Descriptions.Item label={t("node.arch")}>{String(props.cpu_arch ?? none)}</Descriptions.Item>
          <Descriptions.Item label={t("node.cpuModel")}>{String(props.cpu_model || none)}</Descriptions.Item>
          <Descriptions.Item label={t("node.driver")}>{n.driver}</Descriptions.Item>
          <Descriptions.Item label={t("node.resourceClass")}>{n.resource_class ?? none}</Descriptions.Item>
          <Descriptions.Item label={t("node.host")}>
            {hostUuid ? <Link to={`/hosts/${hostUuid}`}>{String(n.instance_info?.display_name ?? hostUuid)}</Link> : none}
          </Descriptions.Item>
          <Descriptions.Item label={t("node.created")}>{date(n.created_at)}</Descriptions.Item>
          <Descriptions.Item label={t("node.updated")}>{date(n.updated_at)}</Descriptions.Item>
          {n.last_error && (
            <Descriptions.Item label={t("node.lastError")} span={3}>
              <Typography.Text type="danger">{n.last_error}</Typography.Text>
            </Descriptions.Item>
          )}
        </Descriptions>
      </Card>
      <Tabs
        items={[
          {
            key: "bmc",
            label: t("node.bmc"),
            children: (
              <Descriptions column={1} size="small" bordered data-testid="bmc-settings">
                {Object.entries(n.driver_info ?? {}).map(([k, v]) => (
                  <Descriptions.Item key={k} label={k}>{bmcValue(k, v)}</Descriptions.Item>
                ))}
              </Descriptions>
            ),
          },
          {
            key: "hardware",
            label: t("node.hardware"),
            children: (
              <>
                <Typography.Title level={5}>{t("node.nics")}</Typography.Title>
                <Table
                  rowKey="address"
                  size="small"
                  pagination={false}
                  dataSource={nics}
                  locale={{ emptyText: t("node.noInventory") }}
                  columns={[
                    { title: t("port.address"), dataIndex: "address" },
                    {
                      title: t("port.switch"),
                      dataIndex: "local_link_connection",
                      render: (v?: Record<string, string>) => (v ? `${v.switch_info ?? v.switch_id} / ${v.port_id}` : none),
                    },
                  ]}
                />
                <Typography.Title level={5} style={{ marginTop: 16 }}>{t("node.disks")}</Typography.Title>
                <Table
                  rowKey={(d) => d.name ?? d.serial ?? String(d.size)}
                  size="small"
                  pagination={false}
                  dataSource={disks}
                  locale={{ emptyText: t("node.noInventory") }}
                  columns={[
                    { title: t("node.diskName"), dataIndex: "name" },
                    { title: t("node.diskSize"), dataIndex: "size", render: (v?: number) => formatBytes(v) },
                    { title: t("node.diskModel"), dataIndex: "model", render: (v?: string | null) => v ?? none },
                    { title: t("node.diskSerial"), dataIndex: "serial", render: (v?: string | null) => v ?? none },
                    { title: t("node.rotational"), dataIndex: "rotational", render: (v?: boolean | null) => (v === undefined || v === null ? none : v ? t("common.yes") : t("common.no")) },
                  ]}
                />
              </>
            ),
          },
          { key: "ports", label: t("node.ports"), children: <NodePorts node={n.uuid} /> },
          {
            key: "timeline",
            label: t("node.timeline"),
            children: <TimelineChart phases={n.driver_internal_info?.timeline} />,
          },
          {
            key: "history",
            label: t("node.history"),
            children: (
              <>
                <ErrorAlert error={history.error} />
                <Table<HistoryEvent>
                  rowKey="uuid"
                  size="small"
                  loading={history.isLoading}
                  dataSource={[...(history.data?.history ?? [])].reverse()}
                  pagination={{ pageSize: 20, hideOnSinglePage: true }}
                  columns={[
                    { title: t("audit.time"), dataIndex: "created_at", render: (v: string) => date(v) },
                    { title: t("node.severity"), dataIndex: "severity" },
                    { title: t("node.event"), dataIndex: "event" },
                    { title: t("node.fromState"), dataIndex: "from_state", render: (v?: string | null) => (v ? stateLabel(t, "provisionState", v) : none) },
                    { title: t("node.toState"), dataIndex: "state", render: (v?: string | null) => (v ? stateLabel(t, "provisionState", v) : none) },
                    { title: t("node.duration"), dataIndex: "duration", render: (v?: number | null) => (v === null || v === undefined ? none : formatSeconds(v)) },
                    { title: t("audit.user"), dataIndex: "user", render: (v?: string | null) => v ?? none },
                  ]}
                />
              </>
            ),
          },
          ...(can("audit:read")
            ? [{ key: "audit", label: t("node.audit"), children: <AuditTable page={audit.data} loading={audit.isLoading} error={audit.error} /> }]
            : []),
        ]}
      />
    </>
  );
}
