// Delete, after a confirmation that names what goes.
import { Button, Popconfirm } from "antd";
import { useTranslation } from "react-i18next";

export default function DeleteButton({
  confirm,
  onConfirm,
  small = true,
  disabled,
}: {
  confirm: string;
  onConfirm: () => void;
  small?: boolean;
  disabled?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <Popconfirm title={confirm} onConfirm={onConfirm} disabled={disabled}>
      <Button size={small ? "small" : undefined} danger disabled={disabled}>
        {t("common.delete")}
      </Button>
    </Popconfirm>
  );
}
