// Projects (each role sees its scope: every project for cloud admins, the department's for a
// department admin, the joined ones for project users): quotas and members with their role.
import { Button, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { Project, Quotas } from "../api/types";
import { useMe } from "../auth";
import { useDate } from "../format";
import { options, quotaBody, useDepartments, useProjects, useUsers } from "../lists";
import { allowed } from "../permissions";
import FormModal from "../components/FormModal";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";
import QuotaFields, { QuotaText } from "./QuotaFields";

type Values = Partial<Quotas> & { name: string; department?: string; description?: string };
const ROLES = ["member", "project_admin"];

export default function Projects() {
  const { t } = useTranslation();
  const date = useDate();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const projects = useProjects();
  const departments = useDepartments(can("department:read"));
  const users = useUsers(can("user:read"));
  const [editing, setEditing] = useState<Project | "new" | null>(null);
  const [members, setMembers] = useState<Project | null>(null);
  const [who, setWho] = useState<string>();
  const [role, setRole] = useState("member");
  const [form] = Form.useForm<Values>();
  const refresh = [["projects"]];

  const save = useAction(
    (v: Values) => {
      const body = quotaBody({ ...v, description: v.description || null });
      if (editing === "new") return unwrap(api.POST("/api/v1/projects", { body: body as never }));
      const { department: _ignored, ...edits } = body;
      void _ignored;
      return unwrap(api.PATCH("/api/v1/projects/{ident}", { params: { path: { ident: (editing as Project).uuid } }, body: edits as never }));
    },
    { refresh, done: t("common.saved"), onDone: () => setEditing(null) },
  );
  const remove = useAction(
    (p: Project) => unwrap(api.DELETE("/api/v1/projects/{ident}", { params: { path: { ident: p.uuid } } })),
    { refresh, done: t("common.deleted") },
  );
  const member = useAction(
    async ({ p, user, role }: { p: Project; user: string; role?: string }) => {
      const path = { params: { path: { ident: p.uuid, user } } };
      const out = (await unwrap(
        role
          ? api.PUT("/api/v1/projects/{ident}/members/{user}", { ...path, body: { role } as never })
          : api.DELETE("/api/v1/projects/{ident}/members/{user}", path),
      )) as Project;
      setMembers(out);
      setWho(undefined);
      return out;
    },
    { refresh, done: t("common.saved") },
  );

  const columns: ColumnsType<Project> = [
    { title: t("tenancy.name"), dataIndex: "name" },
    { title: t("tenancy.department"), dataIndex: "department", render: (v?: string) => v ?? t("common.none") },
    { title: t("common.description"), dataIndex: "description", render: (v: string | null) => v ?? t("common.none") },
    {
      title: t("tenancy.members"),
      dataIndex: "members",
      render: (v?: Project["members"]) => (v ?? []).map((m) => <Tag key={m.user}>{`${m.user} (${t(`role.${m.role}`, { defaultValue: m.role })})`}</Tag>),
    },
    { title: t("quota.title"), key: "quota", render: (_, p) => <QuotaText q={p} /> },
    { title: t("common.created"), dataIndex: "created_at", render: (v: string) => date(v) },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_, p) => (
        <Space>
          {can("project:update") && (
            <Button size="small" onClick={() => { form.setFieldsValue({ ...p, description: p.description ?? undefined }); setEditing(p); }}>
              {t("common.edit")}
            </Button>
          )}
          {can("membership:update") && (
            <Button size="small" onClick={() => setMembers(p)} data-testid={`members-${p.name}`}>
              {t("tenancy.members")}
            </Button>
          )}
          {can("project:delete") && (
            <DeleteButton confirm={t("tenancy.confirmDelete", { name: p.name })} onConfirm={() => remove.mutate(p)} />
          )}
        </Space>
      ),
    },
  ];

  return (
    <>
      <Typography.Title level={3}>{t("tenancy.projectsTitle")}</Typography.Title>
      <Space style={{ marginBottom: 16 }}>
        {can("project:create") && (
          <Button type="primary" onClick={() => { form.resetFields(); setEditing("new"); }} data-testid="project-create">
            {t("tenancy.newProject")}
          </Button>
        )}
      </Space>
      <ErrorAlert error={projects.error} />
      <Table<Project> rowKey="uuid" loading={projects.isLoading} columns={columns} dataSource={projects.data?.projects ?? []} pagination={false} />
      <FormModal
        form={form}
        open={editing !== null}
        title={editing === "new" ? t("tenancy.newProject") : t("tenancy.editProject")}
        onCancel={() => setEditing(null)}
        mutation={save}
      >
          <Form.Item name="name" label={t("tenancy.name")} rules={[{ required: true, message: t("register.nameRequired") }]}>
            <Input />
          </Form.Item>
          <Form.Item name="department" label={t("tenancy.department")} rules={[{ required: editing === "new", message: t("tenancy.departmentRequired") }]}>
            <Select disabled={editing !== "new"} options={options(departments.data?.departments)} data-testid="project-department" />
          </Form.Item>
          <Form.Item name="description" label={t("common.description")}>
            <Input />
          </Form.Item>
          <QuotaFields />
        </FormModal>
      <Modal open={members !== null} title={t("tenancy.membersOf", { name: members?.name ?? "" })} footer={null} onCancel={() => setMembers(null)}>
        <Table
          size="small"
          rowKey="user"
          pagination={false}
          dataSource={members?.members ?? []}
          columns={[
            { title: t("tenancy.user"), dataIndex: "user" },
            { title: t("tenancy.role"), dataIndex: "role", render: (v: string) => t(`role.${v}`, { defaultValue: v }) },
            {
              title: t("common.actions"),
              key: "a",
              render: (_, m: { user: string }) => (
                <Popconfirm title={t("tenancy.confirmRemove", { name: m.user })} onConfirm={() => members && member.mutate({ p: members, user: m.user })}>
                  <Button size="small" danger>{t("tenancy.remove")}</Button>
                </Popconfirm>
              ),
            },
          ]}
        />
        <Space.Compact style={{ width: "100%", marginTop: 12 }}>
          <Select style={{ flex: 2 }} showSearch value={who} onChange={setWho} options={options(users.data?.users)} placeholder={t("tenancy.user")} data-testid="member-user" />
          <Select style={{ flex: 1 }} value={role} onChange={setRole} options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
          <Button disabled={!who} loading={member.isPending} onClick={() => members && who && member.mutate({ p: members, user: who, role })} data-testid="member-add">
            {t("tenancy.add")}
          </Button>
        </Space.Compact>
      </Modal>
    </>
  );
}
