// Users: create, edit (display name, e-mail, enabled, cloud admin, a new password, unlock
// after failed log-ins), delete; with the projects each is in.
import { Button, Checkbox, Form, Input, Space, Switch, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { User } from "../api/types";
import { useMe } from "../auth";
import { useDate } from "../format";
import { useUsers } from "../lists";
import { allowed } from "../permissions";
import FormModal from "../components/FormModal";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";

type Values = { name: string; password?: string; display_name?: string; email?: string; is_admin?: boolean; enabled?: boolean; unlock?: boolean };

export default function Users() {
  const { t } = useTranslation();
  const date = useDate();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const users = useUsers();
  const [editing, setEditing] = useState<User | "new" | null>(null);
  const [form] = Form.useForm<Values>();
  const refresh = [["users"]];

  const save = useAction(
    (v: Values) => {
      const { name, unlock, ...rest } = v;
      const body: Record<string, unknown> = Object.fromEntries(Object.entries(rest).filter(([, x]) => x !== undefined && x !== ""));
      if (editing === "new") return unwrap(api.POST("/api/v1/users", { body: { name, ...body } as never }));
      if (unlock) body.unlock = true;
      return unwrap(api.PATCH("/api/v1/users/{ident}", { params: { path: { ident: (editing as User).uuid } }, body: body as never }));
    },
    { refresh, done: t("common.saved"), onDone: () => setEditing(null) },
  );
  const remove = useAction(
    (u: User) => unwrap(api.DELETE("/api/v1/users/{ident}", { params: { path: { ident: u.uuid } } })),
    { refresh, done: t("common.deleted") },
  );
  const none = t("common.none");
  const columns: ColumnsType<User> = [
    { title: t("tenancy.userName"), dataIndex: "name" },
    { title: t("tenancy.displayName"), dataIndex: "display_name", render: (v: string | null) => v ?? none },
    { title: t("tenancy.email"), dataIndex: "email", render: (v: string | null) => v ?? none },
    {
      title: t("tenancy.roles"),
      key: "roles",
      render: (_, u) => [
        ...(u.is_admin ? [<Tag color="gold" key="admin">{t("role.admin")}</Tag>] : []),
        ...u.projects.map((p) => <Tag key={p.project}>{`${p.project}: ${t(`role.${p.role}`, { defaultValue: p.role })}`}</Tag>),
      ],
    },
    {
      title: t("tenancy.state"),
      key: "state",
      render: (_, u) =>
        !u.enabled ? <Tag>{t("tenancy.disabled")}</Tag>
        : u.locked_until && Date.parse(u.locked_until) > Date.now() ? <Tag color="red">{t("tenancy.lockedUntil", { when: date(u.locked_until) })}</Tag>
        : <Tag color="green">{t("tenancy.enabled")}</Tag>,
    },
    { title: t("common.created"), dataIndex: "created_at", render: (v: string) => date(v) },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_, u) => (
        <Space>
          {can("user:update") && (
            <Button size="small" onClick={() => { form.resetFields(); form.setFieldsValue({ ...u, display_name: u.display_name ?? undefined, email: u.email ?? undefined }); setEditing(u); }}>
              {t("common.edit")}
            </Button>
          )}
          {can("user:delete") && u.name !== me.data?.name && (
            <DeleteButton confirm={t("tenancy.confirmDeleteUser", { name: u.name })} onConfirm={() => remove.mutate(u)} />
          )}
        </Space>
      ),
    },
  ];
  const isNew = editing === "new";
  return (
    <>
      <Typography.Title level={3}>{t("tenancy.usersTitle")}</Typography.Title>
      <Space style={{ marginBottom: 16 }}>
        {can("user:create") && (
          <Button type="primary" onClick={() => { form.resetFields(); setEditing("new"); }}>
            {t("tenancy.newUser")}
          </Button>
        )}
      </Space>
      <ErrorAlert error={users.error} />
      <Table<User> rowKey="uuid" loading={users.isLoading} columns={columns} dataSource={users.data?.users ?? []} pagination={false} />
      <FormModal
        form={form}
        open={editing !== null}
        title={isNew ? t("tenancy.newUser") : t("tenancy.editUser")}
        onCancel={() => setEditing(null)}
        mutation={save}
      >
          <Form.Item name="name" label={t("tenancy.userName")} rules={[{ required: true, message: t("register.nameRequired") }]}>
            <Input disabled={!isNew} />
          </Form.Item>
          <Form.Item name="password" label={isNew ? t("login.password") : t("tenancy.newPassword")} rules={[{ required: isNew, message: t("login.passwordRequired") }]}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
          <Form.Item name="display_name" label={t("tenancy.displayName")}>
            <Input />
          </Form.Item>
          <Form.Item name="email" label={t("tenancy.email")}>
            <Input />
          </Form.Item>
          <Space>
            <Form.Item name="is_admin" label={t("role.admin")} valuePropName="checked">
              <Switch />
            </Form.Item>
            {!isNew && (
              <Form.Item name="enabled" label={t("tenancy.enabled")} valuePropName="checked">
                <Switch />
              </Form.Item>
            )}
          </Space>
          {!isNew && (
            <Form.Item name="unlock" valuePropName="checked">
              <Checkbox>{t("tenancy.unlock")}</Checkbox>
            </Form.Item>
          )}
        </FormModal>
    </>
  );
}
