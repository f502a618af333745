// Flavors (cloud admin's management page): create, edit, delete, and the access list of a
// non-public flavor (the projects that may use it).
import { Button, Form, Input, InputNumber, Modal, Select, Space, Switch, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { Flavor } from "../api/types";
import { useMe } from "../auth";
import { formatMiB, useDate } from "../format";
import { options, useFlavors, useProjects } from "../lists";
import { allowed } from "../permissions";
import FormModal from "../components/FormModal";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";

type Values = {
  name: string;
  description?: string;
  cpus: number;
  memory_mb: number;
  local_gb: number;
  cpu_arch?: string | null;
  resource_class?: string;
  is_public: boolean;
};

export default function Flavors() {
  const { t } = useTranslation();
  const date = useDate();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const flavors = useFlavors();
  const projects = useProjects(can("project:read"));
  const [editing, setEditing] = useState<Flavor | "new" | null>(null);
  const [access, setAccess] = useState<Flavor | null>(null);
  const [granted, setGranted] = useState<string[]>([]);
  const [form] = Form.useForm<Values>();
  const refresh = [["flavors"]];

  const save = useAction(
    async (v: Values) => {
      const body = { ...v, cpu_arch: v.cpu_arch || null, description: v.description || null, resource_class: v.resource_class || null };
      if (editing === "new") return unwrap(api.POST("/api/v1/flavors", { body: body as never }));
      const f = editing as Flavor;
      return unwrap(api.PATCH("/api/v1/flavors/{ident}", { params: { path: { ident: f.uuid } }, body: body as never }));
    },
    { refresh, done: t("common.saved"), onDone: () => setEditing(null) },
  );
  const remove = useAction(
    (f: Flavor) => unwrap(api.DELETE("/api/v1/flavors/{ident}", { params: { path: { ident: f.uuid } } })),
    { refresh, done: t("common.deleted") },
  );
  const saveAccess = useAction(
    async ({ flavor, wanted }: { flavor: Flavor; wanted: string[] }) => {
      const had = flavor.projects ?? [];
      const path = (project: string) => ({ params: { path: { ident: flavor.uuid, project } } });
      for (const p of wanted.filter((p) => !had.includes(p)))
        await unwrap(api.PUT("/api/v1/flavors/{ident}/access/{project}", path(p)));
      for (const p of had.filter((p) => !wanted.includes(p)))
        await unwrap(api.DELETE("/api/v1/flavors/{ident}/access/{project}", path(p)));
    },
    { refresh, done: t("common.saved"), onDone: () => setAccess(null) },
  );

  const none = t("common.none");
  const columns: ColumnsType<Flavor> = [
    { title: t("flavors.name"), dataIndex: "name" },
    { title: t("node.cpus"), dataIndex: "cpus" },
    { title: t("node.memory"), dataIndex: "memory_mb", render: (v: number) => formatMiB(v) },
    { title: t("node.disk"), dataIndex: "local_gb", render: (v: number) => `${v} GiB` },
    { title: t("node.arch"), dataIndex: "cpu_arch", render: (v: string | null) => v ?? t("flavors.anyArch") },
    { title: t("node.resourceClass"), dataIndex: "resource_class", render: (v: string | null) => v ?? none },
    {
      title: t("flavors.access"),
      key: "access",
      render: (_, f) =>
        f.is_public ? (
          <Tag color="green">{t("flavors.public")}</Tag>
        ) : (f.projects ?? []).length ? (
          (f.projects ?? []).map((p) => <Tag key={p}>{p}</Tag>)
        ) : (
          <Tag>{t("flavors.noProject")}</Tag>
        ),
    },
    { title: t("common.created"), dataIndex: "created_at", render: (v: string) => date(v) },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_, f) => (
        <Space>
          {can("flavor:update") && (
            <Button size="small" onClick={() => { form.setFieldsValue({ ...f, description: f.description ?? undefined, resource_class: f.resource_class ?? undefined }); setEditing(f); }}>
              {t("common.edit")}
            </Button>
          )}
          {can("flavor:update") && !f.is_public && (
            <Button size="small" onClick={() => { setGranted(f.projects ?? []); setAccess(f); }}>
              {t("flavors.editAccess")}
            </Button>
          )}
          {can("flavor:delete") && (
            <DeleteButton confirm={t("flavors.confirmDelete", { name: f.name })} onConfirm={() => remove.mutate(f)} />
          )}
        </Space>
      ),
    },
  ];

  return (
    <>
      <Typography.Title level={3}>{t("flavors.title")}</Typography.Title>
      <Space style={{ marginBottom: 16 }}>
        {can("flavor:create") && (
          <Button type="primary" data-testid="flavor-create" onClick={() => { form.resetFields(); setEditing("new"); }}>
            {t("flavors.create")}
          </Button>
        )}
        <Button onClick={() => void flavors.refetch()} loading={flavors.isFetching}>{t("common.refresh")}</Button>
      </Space>
      <ErrorAlert error={flavors.error} />
      <Table<Flavor> rowKey="uuid" size="middle" loading={flavors.isLoading} columns={columns} dataSource={flavors.data?.flavors ?? []} pagination={false} locale={{ emptyText: t("flavors.empty") }} />
      <FormModal
        form={form}
        open={editing !== null}
        title={editing === "new" ? t("flavors.create") : t("flavors.edit")}
        onCancel={() => setEditing(null)}
        mutation={save}
        initialValues={{ is_public: true, cpus: 8, memory_mb: 16384, local_gb: 100 }}
      >
          <Form.Item name="name" label={t("flavors.name")} rules={[{ required: true, message: t("register.nameRequired") }]}>
            <Input />
          </Form.Item>
          <Form.Item name="description" label={t("common.description")}>
            <Input />
          </Form.Item>
          <Space wrap>
            <Form.Item name="cpus" label={t("node.cpus")} rules={[{ required: true }]}>
              <InputNumber min={1} />
            </Form.Item>
            <Form.Item name="memory_mb" label={t("register.memoryMb")} rules={[{ required: true }]}>
              <InputNumber min={1} />
            </Form.Item>
            <Form.Item name="local_gb" label={t("register.localGb")} rules={[{ required: true }]}>
              <InputNumber min={0} />
            </Form.Item>
          </Space>
          <Form.Item name="cpu_arch" label={t("node.arch")}>
            <Select allowClear placeholder={t("flavors.anyArch")} options={["x86_64", "aarch64"].map((a) => ({ value: a, label: a }))} />
          </Form.Item>
          <Form.Item name="resource_class" label={t("node.resourceClass")}>
            <Input />
          </Form.Item>
          <Form.Item name="is_public" label={t("flavors.public")} valuePropName="checked" tooltip={t("flavors.publicHelp")}>
            <Switch />
          </Form.Item>
        </FormModal>
      <Modal
        open={access !== null}
        title={t("flavors.accessOf", { name: access?.name ?? "" })}
        onCancel={() => setAccess(null)}
        onOk={() => access && saveAccess.mutate({ flavor: access, wanted: granted })}
        okText={t("common.save")}
        cancelText={t("common.cancel")}
        confirmLoading={saveAccess.isPending}
      >
        <Typography.Paragraph type="secondary">{t("flavors.accessHelp")}</Typography.Paragraph>
        <Select mode="multiple" style={{ width: "100%" }} value={granted} onChange={setGranted} options={options(projects.data?.projects)} data-testid="flavor-access" />
      </Modal>
    </>
  );
}
