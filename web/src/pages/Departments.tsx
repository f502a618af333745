// Departments (cloud admins manage them; a department admin sees its own): name, quotas,
// projects, and the department's admins.
import { Button, Form, Input, Modal, Select, Space, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { Department, Quotas } from "../api/types";
import { useMe } from "../auth";
import { useDate } from "../format";
import { options, quotaBody, useDepartments, useUsers } from "../lists";
import { allowed } from "../permissions";
import FormModal from "../components/FormModal";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";
import QuotaFields, { QuotaText } from "./QuotaFields";

type Values = Partial<Quotas> & { name: string; description?: string };

export default function Departments() {
  const { t } = useTranslation();
  const date = useDate();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const departments = useDepartments();
  const users = useUsers(can("user:read"));
  const [editing, setEditing] = useState<Department | "new" | null>(null);
  const [admins, setAdmins] = useState<Department | null>(null);
  const [newAdmin, setNewAdmin] = useState<string>();
  const [form] = Form.useForm<Values>();
  const refresh = [["departments"]];

  const save = useAction(
    (v: Values) => {
      const body = quotaBody({ ...v, description: v.description || null });
      return editing === "new"
        ? unwrap(api.POST("/api/v1/departments", { body: body as never }))
        : unwrap(api.PATCH("/api/v1/departments/{ident}", { params: { path: { ident: (editing as Department).uuid } }, body: body as never }));
    },
    { refresh, done: t("common.saved"), onDone: () => setEditing(null) },
  );
  const remove = useAction(
    (d: Department) => unwrap(api.DELETE("/api/v1/departments/{ident}", { params: { path: { ident: d.uuid } } })),
    { refresh, done: t("common.deleted") },
  );
  const setAdmin = useAction(
    async ({ d, user, add }: { d: Department; user: string; add: boolean }) => {
      const path = { params: { path: { ident: d.uuid, user } } };
      const out = (await unwrap(
        add
          ? api.PUT("/api/v1/departments/{ident}/admins/{user}", path)
          : api.DELETE("/api/v1/departments/{ident}/admins/{user}", path),
      )) as Department;
      setAdmins(out);
      setNewAdmin(undefined);
      return out;
    },
    { refresh, done: t("common.saved") },
  );

  const columns: ColumnsType<Department> = [
    { title: t("tenancy.name"), dataIndex: "name" },
    { title: t("common.description"), dataIndex: "description", render: (v: string | null) => v ?? t("common.none") },
    { title: t("tenancy.projects"), dataIndex: "projects" },
    { title: t("tenancy.admins"), dataIndex: "admins", render: (v?: string[]) => (v ?? []).map((a) => <Tag key={a}>{a}</Tag>) },
    { title: t("quota.title"), key: "quota", render: (_, d) => <QuotaText q={d} /> },
    { title: t("common.created"), dataIndex: "created_at", render: (v: string) => date(v) },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_, d) => (
        <Space>
          {can("department:update") && (
            <>
              <Button size="small" onClick={() => { form.setFieldsValue({ ...d, description: d.description ?? undefined }); setEditing(d); }}>
                {t("common.edit")}
              </Button>
              <Button size="small" onClick={() => setAdmins(d)}>{t("tenancy.admins")}</Button>
            </>
          )}
          {can("department:delete") && (
            <DeleteButton confirm={t("tenancy.confirmDelete", { name: d.name })} onConfirm={() => remove.mutate(d)} />
          )}
        </Space>
      ),
    },
  ];

  return (
    <>
      <Typography.Title level={3}>{t("tenancy.departments")}</Typography.Title>
      <Space style={{ marginBottom: 16 }}>
        {can("department:create") && (
          <Button type="primary" onClick={() => { form.resetFields(); setEditing("new"); }} data-testid="department-create">
            {t("tenancy.newDepartment")}
          </Button>
        )}
      </Space>
      <ErrorAlert error={departments.error} />
      <Table<Department> rowKey="uuid" loading={departments.isLoading} columns={columns} dataSource={departments.data?.departments ?? []} pagination={false} />
      <FormModal
        form={form}
        open={editing !== null}
        title={editing === "new" ? t("tenancy.newDepartment") : t("tenancy.editDepartment")}
        onCancel={() => setEditing(null)}
        mutation={save}
      >
          <Form.Item name="name" label={t("tenancy.name")} rules={[{ required: true, message: t("register.nameRequired") }]}>
            <Input />
          </Form.Item>
          <Form.Item name="description" label={t("common.description")}>
            <Input />
          </Form.Item>
          <QuotaFields />
        </FormModal>
      <Modal open={admins !== null} title={t("tenancy.adminsOf", { name: admins?.name ?? "" })} footer={null} onCancel={() => setAdmins(null)}>
        <Space wrap style={{ marginBottom: 12 }}>
          {(admins?.admins ?? []).map((a) => (
            <Tag key={a} closable onClose={(e) => { e.preventDefault(); if (admins) setAdmin.mutate({ d: admins, user: a, add: false }); }}>
              {a}
            </Tag>
          ))}
        </Space>
        <Space.Compact style={{ width: "100%" }}>
          <Select style={{ flex: 1 }} showSearch value={newAdmin} onChange={setNewAdmin} options={options(users.data?.users)} placeholder={t("tenancy.user")} />
          <Button disabled={!newAdmin} loading={setAdmin.isPending} onClick={() => admins && newAdmin && setAdmin.mutate({ d: admins, user: newAdmin, add: true })}>
            {t("tenancy.add")}
          </Button>
        </Space.Compact>
      </Modal>
    </>
  );
}
