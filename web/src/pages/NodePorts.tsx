// A node's ports (its NICs as the API knows them) and port groups: create, edit, delete, and
// a port's group (adding a port to a group or taking it out is an edit of the port). Each
// button follows the permission table (port:*, portgroup:*).
import { useQuery } from "@tanstack/react-query";
import { Button, Form, Input, Select, Space, Switch, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { Port, Portgroup } from "../api/types";
import { useMe } from "../auth";
import { patchOf } from "../nodeLogic";
import { allowed } from "../permissions";
import FormModal from "../components/FormModal";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";

type PortForm = { address: string; pxe_enabled: boolean; portgroup_uuid?: string | null; physical_network?: string };
type GroupForm = { name?: string; address?: string; mode?: string };

export default function NodePorts({ node }: { node: string }) {
  const { t } = useTranslation();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const portsKey = ["node", node, "ports"];
  const groupsKey = ["node", node, "portgroups"];
  const ports = useQuery({
    queryKey: portsKey,
    queryFn: async () =>
      (await unwrap(api.GET("/v1/nodes/{node}/ports/detail", { params: { path: { node } } }))) as { ports: Port[] },
  });
  const groups = useQuery({
    queryKey: groupsKey,
    queryFn: async () =>
      (await unwrap(api.GET("/v1/nodes/{node}/portgroups/detail", { params: { path: { node } } }))) as {
        portgroups: Portgroup[];
      },
  });
  const [editPort, setEditPort] = useState<Port | "new" | null>(null);
  const [editGroup, setEditGroup] = useState<Portgroup | "new" | null>(null);
  const [portForm] = Form.useForm<PortForm>();
  const [groupForm] = Form.useForm<GroupForm>();
  const refresh = [portsKey, groupsKey];

  const savePort = useAction(
    async (v: PortForm) => {
      if (editPort === "new") {
        const body = { node_uuid: node, address: v.address, pxe_enabled: v.pxe_enabled, portgroup_uuid: v.portgroup_uuid || undefined, physical_network: v.physical_network || undefined };
        return unwrap(api.POST("/v1/ports", { body: body as never }));
      }
      const p = editPort as Port;
      const ops = patchOf(p as unknown as Record<string, unknown>, { ...v, portgroup_uuid: v.portgroup_uuid ?? null });
      return unwrap(api.PATCH("/v1/ports/{ident}", { params: { path: { ident: p.uuid } }, body: ops as never }));
    },
    { refresh, done: t("common.saved"), onDone: () => setEditPort(null) },
  );
  const deletePort = useAction(
    (uuid: string) => unwrap(api.DELETE("/v1/ports/{ident}", { params: { path: { ident: uuid } } })),
    { refresh, done: t("common.deleted") },
  );
  const saveGroup = useAction(
    async (v: GroupForm) => {
      if (editGroup === "new") {
        const body = { node_uuid: node, name: v.name || undefined, address: v.address || undefined, mode: v.mode || undefined };
        return unwrap(api.POST("/v1/portgroups", { body: body as never }));
      }
      const g = editGroup as Portgroup;
      const ops = patchOf(g as unknown as Record<string, unknown>, v);
      return unwrap(api.PATCH("/v1/portgroups/{ident}", { params: { path: { ident: g.uuid } }, body: ops as never }));
    },
    { refresh, done: t("common.saved"), onDone: () => setEditGroup(null) },
  );
  const deleteGroup = useAction(
    (uuid: string) => unwrap(api.DELETE("/v1/portgroups/{ident}", { params: { path: { ident: uuid } } })),
    { refresh, done: t("common.deleted") },
  );

  const groupList = groups.data?.portgroups ?? [];
  const groupName = (uuid: string | null) =>
    uuid ? (groupList.find((g) => g.uuid === uuid)?.name ?? uuid) : t("common.none");

  const portColumns: ColumnsType<Port> = [
    { title: t("port.address"), dataIndex: "address", render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
    { title: t("port.pxe"), dataIndex: "pxe_enabled", render: (v: boolean) => (v ? t("common.yes") : t("common.no")) },
    { title: t("port.group"), dataIndex: "portgroup_uuid", render: groupName },
    { title: t("port.physicalNetwork"), dataIndex: "physical_network", render: (v: string | null) => v ?? t("common.none") },
    {
      title: t("port.switch"),
      dataIndex: "local_link_connection",
      render: (v: Record<string, string>) =>
        v && v.switch_id ? `${v.switch_info ?? v.switch_id} / ${v.port_id ?? ""}` : t("common.none"),
    },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_, p) => (
        <Space>
          {can("port:update") && (
            <Button size="small" onClick={() => { portForm.setFieldsValue({ ...p, physical_network: p.physical_network ?? undefined }); setEditPort(p); }}>
              {t("common.edit")}
            </Button>
          )}
          {can("port:delete") && (
            <DeleteButton confirm={t("port.confirmDelete", { address: p.address })} onConfirm={() => deletePort.mutate(p.uuid)} />
          )}
        </Space>
      ),
    },
  ];
  const groupColumns: ColumnsType<Portgroup> = [
    { title: t("portgroup.name"), dataIndex: "name", render: (v: string | null) => v ?? t("common.none") },
    { title: t("port.address"), dataIndex: "address", render: (v: string | null) => v ?? t("common.none") },
    { title: t("portgroup.mode"), dataIndex: "mode", render: (v: string | null) => v ?? t("common.none") },
    {
      title: t("portgroup.ports"),
      key: "ports",
      render: (_, g) =>
        (ports.data?.ports ?? []).filter((p) => p.portgroup_uuid === g.uuid).map((p) => p.address).join(", ") ||
        t("common.none"),
    },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_, g) => (
        <Space>
          {can("portgroup:update") && (
            <Button size="small" onClick={() => { groupForm.setFieldsValue({ name: g.name ?? undefined, address: g.address ?? undefined, mode: g.mode ?? undefined }); setEditGroup(g); }}>
              {t("common.edit")}
            </Button>
          )}
          {can("portgroup:delete") && (
            <DeleteButton confirm={t("portgroup.confirmDelete")} onConfirm={() => deleteGroup.mutate(g.uuid)} />
          )}
        </Space>
      ),
    },
  ];

  return (
    <>
      <ErrorAlert error={ports.error ?? groups.error} />
      <Space style={{ marginBottom: 8 }}>
        <Typography.Title level={5} style={{ margin: 0 }}>{t("port.title")}</Typography.Title>
        {can("port:create") && (
          <Button size="small" onClick={() => { portForm.resetFields(); setEditPort("new"); }}>
            {t("port.add")}
          </Button>
        )}
      </Space>
      <Table<Port> rowKey="uuid" size="small" data-testid="ports-table" loading={ports.isLoading} columns={portColumns} dataSource={ports.data?.ports ?? []} pagination={false} />
      <Space style={{ margin: "16px 0 8px" }}>
        <Typography.Title level={5} style={{ margin: 0 }}>{t("portgroup.title")}</Typography.Title>
        {can("portgroup:create") && (
          <Button size="small" onClick={() => { groupForm.resetFields(); setEditGroup("new"); }}>
            {t("portgroup.add")}
          </Button>
        )}
      </Space>
      <Table<Portgroup> rowKey="uuid" size="small" loading={groups.isLoading} columns={groupColumns} dataSource={groupList} pagination={false} />

      <FormModal
        form={portForm}
        open={editPort !== null}
        title={editPort === "new" ? t("port.add") : t("port.edit")}
        onCancel={() => setEditPort(null)}
        mutation={savePort}
        initialValues={{ pxe_enabled: true }}
      >
          <Form.Item name="address" label={t("port.address")} rules={[{ required: true, message: t("port.addressRequired") }]}>
            <Input placeholder="52:54:00:12:34:56" />
          </Form.Item>
          <Form.Item name="pxe_enabled" label={t("port.pxe")} valuePropName="checked">
            <Switch />
          </Form.Item>
          <Form.Item name="portgroup_uuid" label={t("port.group")}>
            <Select allowClear options={groupList.map((g) => ({ value: g.uuid, label: g.name ?? g.uuid }))} />
          </Form.Item>
          <Form.Item name="physical_network" label={t("port.physicalNetwork")}>
            <Input />
          </Form.Item>
        </FormModal>
      <FormModal
        form={groupForm}
        open={editGroup !== null}
        title={editGroup === "new" ? t("portgroup.add") : t("portgroup.edit")}
        onCancel={() => setEditGroup(null)}
        mutation={saveGroup}
      >
          <Form.Item name="name" label={t("portgroup.name")}>
            <Input />
          </Form.Item>
          <Form.Item name="address" label={t("port.address")}>
            <Input />
          </Form.Item>
          <Form.Item name="mode" label={t("portgroup.mode")}>
            <Select allowClear options={["active-backup", "balance-rr", "balance-xor", "802.3ad", "balance-tlb", "balance-alb"].map((m) => ({ value: m, label: m }))} />
          </Form.Item>
        </FormModal>
    </>
  );
}
