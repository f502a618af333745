// The phases of a deploy (or cleaning, inspection) as a chart: one bar per phase on a shared
// time axis, its length the phase's duration; an open phase grows while the page polls.
import { Empty, Progress, Tooltip, Typography } from "antd";
import { useTranslation } from "react-i18next";
import type { Phase } from "../api/types";
import { formatSeconds, useDate } from "../format";
import { timelineChart } from "../timeline";

export default function TimelineChart({ phases }: { phases: Phase[] | undefined }) {
  const { t } = useTranslation();
  const date = useDate();
  const chart = timelineChart(phases);
  if (chart.bars.length === 0) return <Empty description={t("node.noTimeline")} />;
  return (
    <div data-testid="timeline-chart">
      <Typography.Paragraph type="secondary">
        {t("node.timelineTotal", { duration: formatSeconds(chart.totalSeconds) })}
      </Typography.Paragraph>
      {chart.bars.map((b, i) => (
        <div key={`${b.phase}-${i}`} style={{ display: "flex", alignItems: "center", marginBottom: 6 }}>
          <div style={{ width: 180, flex: "none" }}>{t(`phase.${b.phase}`, { defaultValue: b.phase })}</div>
          <div style={{ flex: 1, position: "relative", height: 18, background: "#f5f5f5" }}>
            <Tooltip
              title={`${date(b.started)} → ${b.finished ? date(b.finished) : t("node.phaseOpen")}`}
            >
              <div
                role="img"
                aria-label={`${b.phase} ${formatSeconds(b.seconds)}`}
                style={{
                  position: "absolute",
                  left: `${b.offsetPct}%`,
                  width: `${b.widthPct}%`,
                  top: 0,
                  bottom: 0,
                  background: b.open ? "#faad14" : "#1677ff",
                  borderRadius: 2,
                }}
              />
            </Tooltip>
          </div>
          <div style={{ width: 110, flex: "none", textAlign: "right" }}>
            {b.open ? <Progress type="line" percent={100} status="active" showInfo={false} size="small" /> : formatSeconds(b.seconds)}
          </div>
        </div>
      ))}
    </div>
  );
}
