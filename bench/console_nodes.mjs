// The console's nodes page in a real browser, timed: bench/console_nodes.py starts the server,
// enrols the nodes and runs this script; it prints one JSON line per measurement.
//
//   node bench/console_nodes.mjs <base url> <token> <runs> [screenshot.png]
//
// For each run: the time from navigation to the first page of rows rendered (a row of the
// table with a node name visible), cold (a new browser context: empty cache) and warm (the same
// page reloaded), with the time of the /api/v1/nodes call itself (Resource Timing); then, on the
// rendered page, the time from a filter applied (a name typed and searched; a provision state
// chosen) to its first page of rows. playwright-core comes from web/node_modules; the browser
// is Debian's chromium (CHROMIUM to name another).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "web", "package.json"));
const { chromium } = require("playwright-core");

const [base, token, runsArg, screenshot] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const ROW = "[data-testid=nodes-table] tr.ant-table-row a";
const NAME_SEARCH = process.env.NAME_SEARCH ?? "0042";
const STATE = process.env.STATE_FILTER ?? "enroll";

function emit(record) {
  console.log(JSON.stringify(record));
}

/** performance.now() (ms since the navigation started) at the first animation frame where a
 * row with a name shows; with `expect`, the first row's name must contain it; with `must`, a
 * /api/v1/nodes call whose URL contains it must have ended (the page keeps the previous rows
 * while a filter's page loads). */
async function rowsShown(page, expect, must) {
  const handle = await page.waitForFunction(
    ({ sel, expect, must }) => {
      const a = document.querySelector(sel);
      const text = a?.textContent ?? "";
      if (!text || (expect && !text.toLowerCase().includes(expect.toLowerCase()))) return false;
      if (
        must &&
        !performance.getEntriesByType("resource").some((e) => e.name.includes("/api/v1/nodes?") && e.name.includes(must))
      )
        return false;
      return performance.now();
    },
    { sel: ROW, expect, must },
    { polling: "raf", timeout: 60_000 },
  );
  return handle.jsonValue();
}

/** The last /api/v1/nodes call's duration and its server part (request sent to first byte). */
async function apiTiming(page, must) {
  return page.evaluate((must) => {
    const calls = performance
      .getEntriesByType("resource")
      .filter((e) => e.name.includes("/api/v1/nodes?") && (!must || e.name.includes(must)));
    const e = calls.at(-1);
    // api_start_ms: when the page sent it (ms since navigation): the scripts' load, parse and
    // the log-in check come before
    return e
      ? { api_ms: e.duration, api_ttfb_ms: e.responseStart - e.requestStart, api_start_ms: e.startTime }
      : {};
  }, must);
}

/** Apply a filter on the rendered page; ms from the action to the filtered rows shown. */
async function timedFilter(page, apply, expect, must) {
  const start = await page.evaluate(() => performance.now());
  await apply();
  try {
    const shown = await rowsShown(page, expect, must);
    return { ms: shown - start, ...(await apiTiming(page, must)) };
  } catch (e) {
    const calls = await page.evaluate(() =>
      performance.getEntriesByType("resource").map((r) => r.name).filter((n) => n.includes("/api/v1/nodes")),
    );
    const first = await page.locator(ROW).first().textContent().catch(() => null);
    throw new Error(`${e.message}; calls: ${calls.join(" ")}; first row: ${first}`);
  }
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    for (let run = 1; run <= runs; run++) {
      // a new context: no cache, no storage; the token as the log-in page would keep it
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
      await context.addInitScript((t) => {
        sessionStorage.setItem("ironworks.token", t);
        localStorage.setItem("ironworks.lang", "en");
        performance.setResourceTimingBufferSize(5000);
      }, token);
      const page = await context.newPage();
      const failures = [];
      page.on("pageerror", (e) => failures.push(e.message));
      await page.goto(`${base}/console/nodes`, { waitUntil: "commit" });
      const cold = await rowsShown(page);
      emit({ run, kind: "cold", ms: cold, ...(await apiTiming(page)) });
      await page.reload({ waitUntil: "commit" });
      const warm = await rowsShown(page);
      emit({ run, kind: "warm", ms: warm, ...(await apiTiming(page)) });
      if (run === 1 && screenshot) {
        await page.waitForLoadState("networkidle");
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      const search = page.locator("input[data-testid=filter-name], [data-testid=filter-name] input");
      emit({
        run,
        kind: "name filter",
        ...(await timedFilter(
          page,
          async () => {
            await search.fill(NAME_SEARCH);
            await search.press("Enter");
          },
          NAME_SEARCH,
          `name=${NAME_SEARCH}`,
        )),
      });
      await search.fill(""); // cleared: back to every node
      await rowsShown(page, "");
      emit({
        run,
        kind: "state filter",
        ...(await timedFilter(
          page,
          async () => {
            await page.getByTestId("filter-provision-state").click();
            await page.keyboard.type(STATE);
            await page.keyboard.press("Enter");
          },
          "",
          `provision_state=${STATE}`,
        )),
      });
      if (failures.length) emit({ run, kind: "error", errors: failures });
      await context.close();
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
