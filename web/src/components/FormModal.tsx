// A form in a modal, sent through a mutation (actions.ts useAction): OK submits the form, the
// API's refusal lands on the field it names.
import { Form, Modal, type FormInstance } from "antd";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { formErrors } from "../actions";

interface Mutation<X> {
  mutate: (vars: X, opts: { onError: (e: unknown) => void }) => void;
  isPending: boolean;
}

export default function FormModal<V extends object, X = V>({
  form,
  open,
  title,
  onCancel,
  mutation,
  vars,
  okText,
  initialValues,
  children,
}: {
  form: FormInstance<V>;
  open: boolean;
  title: ReactNode;
  onCancel: () => void;
  mutation: Mutation<X>;
  vars?: (values: V) => X;
  okText?: string;
  initialValues?: Partial<V>;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <Modal
      open={open}
      title={title}
      onCancel={onCancel}
      onOk={() => form.submit()}
      okText={okText ?? t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={mutation.isPending}
      forceRender
    >
      <Form<V>
        form={form}
        layout="vertical"
        initialValues={initialValues}
        onFinish={(v) =>
          mutation.mutate(vars ? vars(v) : (v as unknown as X), {
            onError: (e) => form.setFields(formErrors(e) as never),
          })
        }
      >
        {children}
      </Form>
    </Modal>
  );
}
