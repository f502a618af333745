// Nodes (cloud admin): /api/v1/nodes, paged on the server (limit and marker: the page after the
// last node shown) and filtered on the server by name, provision and power state, architecture,
// availability zone and maintenance; the actions go through Ironic's /v1/nodes/{ident}.
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Button, Dropdown, Input, Popconfirm, Progress, Select, Space, Spin, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { errorText } from "../actions";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useMe } from "../auth";
import { download } from "../download";
import { allowed } from "../permissions";
import { type NodeFilters, nodeQuery } from "../queries";
import { POWER_STATES, PROVISION_STATES, stateLabel } from "../states";
import ErrorAlert from "./ErrorAlert";
import NodeImport from "./NodeImport";
import NodeRegister from "./NodeRegister";

const SIZES = [20, 50, 100] as const;
const UNKNOWN_ARCH = "unknown"; // the zones' count of nodes that name no architecture

// a UUID cut to the column by CSS (its whole text stays, in the title too): no measuring
const UUID_STYLE = {
  display: "inline-block",
  maxWidth: 160,
  overflow: "hidden",
  textOverflow: "ellipsis",
  whiteSpace: "nowrap",
  verticalAlign: "bottom",
} as const;

type NodeRow = components["schemas"]["NodeSummary"];
type NodePage = components["schemas"]["NodeSummaryPage"];

export default function Nodes() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const qc = useQueryClient();
  const [selected, setSelected] = useState<string[]>([]);
  const [bulk, setBulk] = useState<{ done: number; total: number } | null>(null);
  const [registering, setRegistering] = useState(false);
  const [importing, setImporting] = useState(false);
  const [limit, setLimit] = useState<number>(SIZES[0]);
  const [markers, setMarkers] = useState<(string | undefined)[]>([undefined]); // page starts
  const [filters, setFilters] = useState<NodeFilters>({});
  const [nameInput, setNameInput] = useState("");
  const marker = markers[markers.length - 1];
  const query = nodeQuery(limit, marker, filters);
  const nodes = useQuery({
    queryKey: ["nodes", query],
    queryFn: (): Promise<NodePage> => unwrap(api.GET("/api/v1/nodes", { params: { query } })),
    placeholderData: keepPreviousData,
    // live state while work runs on a node of the page
    refetchInterval: (q) =>
      q.state.data?.nodes.some((n) => n.target_provision_state || n.target_power_state) ? 3000 : false,
  });
  // the zones and the architectures their nodes have, for the filters' choices
  const zones = useQuery({ queryKey: ["zones"], queryFn: () => unwrap(api.GET("/api/v1/availability-zones")) });
  const zoneNames = (zones.data?.availability_zones ?? []).map((z) => z.name);
  const arches = [
    ...new Set((zones.data?.availability_zones ?? []).flatMap((z) => Object.keys(z.architectures))),
  ]
    .filter((a) => a !== UNKNOWN_ARCH)
    .sort();
  const restart = () => setMarkers([undefined]);
  /** Set one filter (undefined: cleared) and go back to the first page. */
  const filterBy = (key: keyof NodeFilters) => (v: string | undefined) => {
    setFilters((f) => ({ ...f, [key]: v || undefined }));
    restart();
  };
  const rows = nodes.data?.nodes ?? [];

  /** One request per selected node, in turn, with progress; refusals listed with their sentence. */
  const runBulk = async (call: (uuid: string) => Promise<unknown>) => {
    const uuids = [...selected];
    const failed: string[] = [];
    setBulk({ done: 0, total: uuids.length });
    for (const [i, uuid] of uuids.entries()) {
      try {
        await call(uuid);
      } catch (e) {
        const name = nodes.data?.nodes.find((n) => n.uuid === uuid)?.name ?? uuid;
        failed.push(`${name}: ${errorText(e)}`);
      }
      setBulk({ done: i + 1, total: uuids.length });
    }
    setBulk(null);
    setSelected([]);
    await qc.invalidateQueries({ queryKey: ["nodes"] });
    if (failed.length) void message.error(failed.join("; "), 10);
    else void message.success(t("nodes.bulkDone", { count: uuids.length }));
  };
  const path = (ident: string) => ({ params: { path: { ident } } });
  const provision = (target: string) => () =>
    runBulk((u) => unwrap(api.PUT("/v1/nodes/{ident}/states/provision", { ...path(u), body: { target } as never })));
  const powerTo = (target: string) => () =>
    runBulk((u) => unwrap(api.PUT("/v1/nodes/{ident}/states/power", { ...path(u), body: { target } as never })));
  const bulkItems = [
    ...(can("node:update")
      ? [
          { key: "manage", label: t("node.action.manage"), onClick: provision("manage") },
          { key: "provide", label: t("node.action.provide"), onClick: provision("provide") },
        ]
      : []),
    ...(can("node:power")
      ? [
          { key: "on", label: t("node.powerOn"), onClick: powerTo("power on") },
          { key: "off", label: t("node.powerOff"), onClick: powerTo("power off") },
          { key: "reboot", label: t("node.reboot"), onClick: powerTo("rebooting") },
        ]
      : []),
    ...(can("node:maintenance")
      ? [
          {
            key: "mon",
            label: t("node.startMaintenance"),
            onClick: () => runBulk((u) => unwrap(api.PUT("/v1/nodes/{ident}/maintenance", { ...path(u), body: {} as never }))),
          },
          {
            key: "moff",
            label: t("node.endMaintenance"),
            onClick: () => runBulk((u) => unwrap(api.DELETE("/v1/nodes/{ident}/maintenance", path(u)))),
          },
        ]
      : []),
  ];

  const columns: ColumnsType<NodeRow> = [
    {
      title: t("nodes.name"),
      dataIndex: "name",
      render: (v: string | null, n) => (
        <Link to={`/nodes/${n.uuid}`} style={{ whiteSpace: "nowrap" }}>
          {v ?? n.uuid}
        </Link>
      ),
    },
    {
      title: t("nodes.uuid"),
      dataIndex: "uuid",
      render: (v: string) => (
        <Typography.Text code title={v} style={UUID_STYLE}>
          {v}
        </Typography.Text>
      ),
    },
    { title: t("nodes.provisionState"), dataIndex: "provision_state", render: (v: string, n) => (
        <Tag title={v} icon={n.target_provision_state ? <Spin size="small" style={{ marginRight: 4 }} /> : undefined}>
          {stateLabel(t, "provisionState", v)}
        </Tag>
      ),
    },
    {
      title: t("nodes.powerState"),
      dataIndex: "power_state",
      render: (v: string | null) => (v ? stateLabel(t, "powerState", v) : t("common.none")),
    },
    {
      title: t("nodes.maintenance"),
      dataIndex: "maintenance",
      render: (v: boolean) => (v ? <Tag color="orange">{t("common.yes")}</Tag> : t("common.no")),
    },
    { title: t("nodes.cpuArch"), dataIndex: "cpu_arch", render: (v: string | null) => v ?? t("common.none") },
    { title: t("nodes.zone"), dataIndex: "availability_zone" },
    { title: t("nodes.instance"), dataIndex: "instance_uuid", render: (v: string | null) => v ?? t("common.none") },
  ];

  return (
    <>
      <Typography.Title level={3}>{t("nodes.title")}</Typography.Title>
      <Space wrap style={{ marginBottom: 16 }}>
        <Input.Search
          allowClear
          style={{ width: 220 }}
          placeholder={t("nodes.searchName")}
          data-testid="filter-name"
          value={nameInput}
          onChange={(e) => {
            setNameInput(e.target.value);
            if (!e.target.value) filterBy("name")(undefined); // cleared
          }}
          onSearch={(v) => filterBy("name")(v.trim())}
        />
        <Select
          allowClear
          showSearch
          style={{ width: 200 }}
          placeholder={t("nodes.provisionState")}
          data-testid="filter-provision-state"
          value={filters.provision_state}
          onChange={filterBy("provision_state")}
          optionFilterProp="label"
          options={PROVISION_STATES.map((s) => ({ value: s, label: stateLabel(t, "provisionState", s) }))}
        />
        <Select
          allowClear
          style={{ width: 160 }}
          placeholder={t("nodes.powerState")}
          data-testid="filter-power-state"
          value={filters.power_state}
          onChange={filterBy("power_state")}
          options={POWER_STATES.map((s) => ({ value: s, label: stateLabel(t, "powerState", s) }))}
        />
        <Select
          allowClear
          style={{ width: 150 }}
          placeholder={t("nodes.cpuArch")}
          data-testid="filter-cpu-arch"
          value={filters.cpu_arch}
          onChange={filterBy("cpu_arch")}
          options={arches.map((a) => ({ value: a, label: a }))}
        />
        <Select
          allowClear
          showSearch
          style={{ width: 180 }}
          placeholder={t("nodes.zone")}
          data-testid="filter-zone"
          value={filters.availability_zone}
          onChange={filterBy("availability_zone")}
          options={zoneNames.map((z) => ({ value: z, label: z }))}
        />
        <Select
          allowClear
          style={{ width: 140 }}
          placeholder={t("nodes.maintenance")}
          data-testid="filter-maintenance"
          value={filters.maintenance}
          onChange={filterBy("maintenance")}
          options={[
            { value: "true", label: t("common.yes") },
            { value: "false", label: t("common.no") },
          ]}
        />
        <Button onClick={() => void nodes.refetch()} loading={nodes.isFetching}>
          {t("common.refresh")}
        </Button>
        {can("node:create") && (
          <Button type="primary" onClick={() => setRegistering(true)} data-testid="node-register">
            {t("register.open")}
          </Button>
        )}
        {can("node:import") && (
          <Button onClick={() => setImporting(true)} data-testid="node-import">
            {t("import.open")}
          </Button>
        )}
        {can("node:export") && (
          <Button
            onClick={() =>
              download("/api/v1/nodes/export?format=csv", "nodes.csv").catch((e: unknown) =>
                message.error(errorText(e)),
              )
            }
          >
            {t("common.export")}
          </Button>
        )}
      </Space>
      {(bulkItems.length > 0 || can("node:delete")) && (
        <Space style={{ marginBottom: 12 }} data-testid="bulk-actions">
          <span>{t("nodes.selected", { count: selected.length })}</span>
          <Dropdown trigger={["click"]} disabled={selected.length === 0 || bulk !== null} menu={{ items: bulkItems.map(({ key, label, onClick }) => ({ key, label, onClick: () => void onClick() })) }}>
            <Button data-testid="bulk-menu">{t("nodes.bulk")}</Button>
          </Dropdown>
          {can("node:delete") && (
            <Popconfirm
              title={t("nodes.confirmBulkDelete", { count: selected.length })}
              disabled={selected.length === 0 || bulk !== null}
              onConfirm={() => void runBulk((u) => unwrap(api.DELETE("/v1/nodes/{ident}", path(u))))}
            >
              <Button danger disabled={selected.length === 0 || bulk !== null}>{t("common.delete")}</Button>
            </Popconfirm>
          )}
          {bulk && <Progress style={{ width: 200 }} size="small" percent={Math.round((bulk.done / bulk.total) * 100)} format={() => `${bulk.done}/${bulk.total}`} />}
        </Space>
      )}
      <NodeRegister open={registering} onClose={() => setRegistering(false)} />
      <NodeImport open={importing} onClose={() => setImporting(false)} />
      <ErrorAlert error={nodes.error} />
      <Table<NodeRow>
        rowKey="uuid"
        size="middle"
        data-testid="nodes-table"
        loading={nodes.isLoading}
        columns={columns}
        dataSource={rows}
        rowSelection={bulkItems.length > 0 || can("node:delete") ? { selectedRowKeys: selected, onChange: (keys) => setSelected(keys as string[]) } : undefined}
        pagination={false}
        locale={{ emptyText: t("nodes.empty") }}
      />
      <Space style={{ marginTop: 16 }}>
        <Button disabled={markers.length === 1} onClick={restart}>
          {t("common.first")}
        </Button>
        <Button
          disabled={!nodes.data?.next_marker}
          data-testid="next-page"
          onClick={() => setMarkers([...markers, nodes.data?.next_marker ?? undefined])}
        >
          {t("common.next")}
        </Button>
        <span>{t("common.perPage")}</span>
        <Select
          data-testid="per-page"
          value={limit}
          style={{ width: 90 }}
          onChange={(v: number) => {
            setLimit(v);
            restart();
          }}
          options={SIZES.map((s) => ({ value: s, label: s }))}
        />
      </Space>
    </>
  );
}
