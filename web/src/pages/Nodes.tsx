// Nodes (cloud admin): Ironic's /v1/nodes, paged on the server (limit and marker: the page
// after the last node shown), filtered on the server by provision state and maintenance.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { App, Button, Select, Space, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { errorText } from "../actions";
import { api, unwrap } from "../api/client";
import type { NodePage, NodeRow } from "../api/types";
import { useMe } from "../auth";
import { download } from "../download";
import { allowed } from "../permissions";
import { nodeQuery } from "../queries";
import { POWER_STATES, PROVISION_STATES, stateLabel } from "../states";
import ErrorAlert from "./ErrorAlert";
import NodeImport from "./NodeImport";
import NodeRegister from "./NodeRegister";

const SIZES = [20, 50, 100] as const;

export default function Nodes() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const [registering, setRegistering] = useState(false);
  const [importing, setImporting] = useState(false);
  const [limit, setLimit] = useState<number>(SIZES[0]);
  const [markers, setMarkers] = useState<(string | undefined)[]>([undefined]); // page starts
  const [state, setState] = useState<string>();
  const [maintenance, setMaintenance] = useState<string>();
  const [power, setPower] = useState<string>();
  const marker = markers[markers.length - 1];
  const query = nodeQuery(limit, marker, state, maintenance);
  const nodes = useQuery({
    queryKey: ["nodes", query],
    // /v1/nodes declares no query parameters in openapi.json yet (Ironic's list reads them
    // from the query string); they are typed by NodeQuery above.
    queryFn: async () =>
      (await unwrap(api.GET("/v1/nodes", { params: { query: query as never } }))) as NodePage,
    placeholderData: keepPreviousData,
  });
  const restart = () => setMarkers([undefined]);
  const rows = (nodes.data?.nodes ?? []).filter((n) => !power || n.power_state === power);
  const last = nodes.data?.nodes.at(-1);

  const columns: ColumnsType<NodeRow> = [
    {
      title: t("nodes.name"),
      dataIndex: "name",
      render: (v: string | null, n) => <Link to={`/nodes/${n.uuid}`}>{v ?? n.uuid}</Link>,
    },
    { title: t("nodes.uuid"), dataIndex: "uuid", render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
    { title: t("nodes.provisionState"), dataIndex: "provision_state", render: (v: string) => <Tag title={v}>{stateLabel(t, "provisionState", v)}</Tag> },
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
    { title: t("nodes.instance"), dataIndex: "instance_uuid", render: (v: string | null) => v ?? t("common.none") },
  ];

  return (
    <>
      <Typography.Title level={3}>{t("nodes.title")}</Typography.Title>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select
          allowClear
          showSearch
          style={{ width: 200 }}
          placeholder={t("nodes.provisionState")}
          data-testid="filter-provision-state"
          value={state}
          onChange={(v: string | undefined) => {
            setState(v);
            restart();
          }}
          optionFilterProp="label"
          options={PROVISION_STATES.map((s) => ({ value: s, label: stateLabel(t, "provisionState", s) }))}
        />
        <Select
          allowClear
          style={{ width: 160 }}
          placeholder={t("nodes.maintenance")}
          value={maintenance}
          onChange={(v: string | undefined) => {
            setMaintenance(v);
            restart();
          }}
          options={[
            { value: "true", label: t("common.yes") },
            { value: "false", label: t("common.no") },
          ]}
        />
        <Select
          allowClear
          style={{ width: 160 }}
          placeholder={t("nodes.powerState")}
          title={t("nodes.powerFilterNote")}
          value={power}
          onChange={(v: string | undefined) => setPower(v)}
          options={POWER_STATES.map((s) => ({ value: s, label: stateLabel(t, "powerState", s) }))}
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
        pagination={false}
        locale={{ emptyText: t("nodes.empty") }}
      />
      <Space style={{ marginTop: 16 }}>
        <Button disabled={markers.length === 1} onClick={restart}>
          {t("common.first")}
        </Button>
        <Button
          disabled={!nodes.data?.next || !last}
          onClick={() => setMarkers([...markers, last?.uuid])}
        >
          {t("common.next")}
        </Button>
        <span>{t("common.perPage")}</span>
        <Select
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
