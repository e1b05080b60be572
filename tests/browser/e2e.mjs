// What a user sees, in a real browser: log in to Home Assistant (started by scripts/develop with the
// simulator), add the simulated GoodWe plant through the integration's config dialog, open its device
// pages and the Energy dashboard, and check names, values and units. Screenshots go to $ARTIFACTS.
//
// Run by scripts/browser-test (which starts and stops everything); needs HA_URL, GOODWE_PORT, ARTIFACTS.
// Debian's Chromium (/usr/bin/chromium), headless; loopback only.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const HA_URL = process.env.HA_URL;
const GOODWE_PORT = process.env.GOODWE_PORT;
const ARTIFACTS = process.env.ARTIFACTS;
const USER = process.env.HA_USER ?? "dev";
const PASSWORD = process.env.HA_PASSWORD ?? "sems-dev-2026";
const STEP_TIMEOUT = 30_000;
const PLANT = "GoodWe GW10K-ET";
const DEVICES = [PLANT, `${PLANT} battery`, `${PLANT} grid meter`, `${PLANT} plant`];

const failures = [];
let shots = 0;

function check(condition, message) {
  if (!condition) {
    failures.push(message);
    console.error(`FAIL ${message}`);
  } else {
    console.log(`ok   ${message}`);
  }
}

async function shot(page, name) {
  shots += 1;
  const file = path.join(ARTIFACTS, `${String(shots).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`     screenshot ${file}`);
}

/** The texts a user sees, in page order, shadow DOM included (Home Assistant's UI is web components). */
async function visibleTexts(page) {
  return page.evaluate(() => {
    const parts = [];
    const walk = (node) => {
      if (node.nodeType === Node.TEXT_NODE) {
        const text = node.textContent.trim();
        if (text) parts.push(text);
        return;
      }
      if (node.nodeType === Node.ELEMENT_NODE) {
        if (["STYLE", "SCRIPT", "TEMPLATE"].includes(node.tagName)) return;
        const style = getComputedStyle(node);
        if (style.display === "none" || style.visibility === "hidden") return;
        if (node.shadowRoot) walk(node.shadowRoot);
      } else if (node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) {
        return;
      }
      for (const child of node.childNodes) walk(child);
    };
    walk(document.body);
    return parts;
  });
}

async function visibleText(page) {
  return (await visibleTexts(page)).join("\n");
}

/** Home Assistant's frontend connection: what the page itself uses to read states and registries. */
async function callWS(page, message) {
  return page.evaluate((msg) => document.querySelector("home-assistant").hass.callWS(msg), message);
}

async function waitForText(page, text, timeout = STEP_TIMEOUT) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if ((await visibleText(page)).includes(text)) return true;
    await page.waitForTimeout(250);
  }
  return false;
}

async function login(page) {
  await page.goto(HA_URL);
  await page.locator('input[name="username"]').fill(USER);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await shot(page, "login");
  await page.locator('input[name="password"]').press("Enter");
  await page.waitForURL(/\/lovelace|\/home|\/energy|\/config/, { timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => document.querySelector("home-assistant")?.hass?.connected, null, {
    timeout: STEP_TIMEOUT,
  });
  check(true, "logged in");
}

async function addPlant(page) {
  // Settings > Devices & services > Add integration > search > SEMS Local Solar, as a user does.
  await page.goto(`${HA_URL}/config/integrations/dashboard`);
  await page.getByRole("button", { name: /add integration/i }).click();
  const picker = page.locator("dialog-add-integration");
  await picker.locator("input").first().fill("SEMS Local");
  await shot(page, "add-integration");
  await picker.getByText("SEMS Local Solar", { exact: true }).click();
  const dialog = page.locator("dialog-data-entry-flow");
  const host = dialog.locator('ha-form [name="host"] input, ha-selector-text input').first();
  await host.waitFor({ timeout: STEP_TIMEOUT });
  check(await waitForText(page, "Connect to your solar plant"), "config dialog shows its title");
  await host.fill("127.0.0.1");
  const port = dialog.locator('input[type="number"]').first();
  await port.fill(String(GOODWE_PORT));
  await shot(page, "config-dialog");
  await dialog.getByRole("button", { name: "Submit" }).click();
  check(await waitForText(page, "Created configuration for"), "the plant is added");
  check((await visibleText(page)).includes(PLANT), `the success dialog names "${PLANT}"`);
  await shot(page, "config-dialog-done");
  await dialog.getByRole("button", { name: "Finish" }).click();
}

async function devicePages(page) {
  const devices = await callWS(page, { type: "config/device_registry/list" });
  const ours = devices.filter((d) => d.identifiers.some(([domain]) => domain === "sems"));
  const names = ours.map((d) => d.name_by_user ?? d.name).sort();
  check(JSON.stringify(names) === JSON.stringify([...DEVICES].sort()), `devices are ${DEVICES.join(", ")}`);
  const entities = await callWS(page, { type: "config/entity_registry/list" });
  const states = await page.evaluate(() => document.querySelector("home-assistant").hass.states);
  for (const name of DEVICES) {
    const device = ours.find((d) => d.name === name);
    if (!device) continue;
    await page.goto(`${HA_URL}/config/devices/device/${device.id}`);
    check(await waitForText(page, name), `device page of "${name}" shows its name`);
    await page.waitForTimeout(1000); // cards render their values
    const parts = await visibleTexts(page);
    const shown = entities.filter(
      (e) => e.device_id === device.id && !e.disabled_by && !e.entity_category && e.entity_id.startsWith("sensor."),
    );
    const withValue = shown.filter((e) => !["unknown", "unavailable"].includes(states[e.entity_id]?.state));
    check(withValue.length > 0, `"${name}" has sensors with values`);
    for (const entity of withValue) {
      const state = states[entity.entity_id];
      const unit = state.attributes.unit_of_measurement;
      const label = state.attributes.friendly_name.replace(`${name} `, "");
      const index = parts.indexOf(label);
      const value = index >= 0 ? parts[index + 1] : undefined;
      check(value !== undefined && value !== "Unknown", `"${name}": "${label}" shows ${JSON.stringify(value)}`);
      if (unit && value) check(/[0-9]/.test(value) && value.endsWith(unit), `"${name}": "${label}" is a number in ${unit}`);
    }
    const text = parts.join("\n");
    check(!/battery Battery|meter Grid|_battery_battery_/.test(text), `"${name}" page repeats no words`);
    await shot(page, `device-${name.replaceAll(" ", "-")}`);
  }
}

async function energyDashboard(page) {
  const entities = await callWS(page, { type: "config/entity_registry/list" });
  const id = (suffix) => entities.find((e) => e.platform === "sems" && e.entity_id.endsWith(suffix))?.entity_id;
  const sources = {
    import: id("_grid_meter_import_energy"),
    export: id("_grid_meter_export_energy"),
    solar: id("_et_pv_energy"),
    charge: id("_battery_charge_energy"),
    discharge: id("_battery_discharge_energy"),
  };
  check(Object.values(sources).every(Boolean), `energy sensors exist: ${JSON.stringify(sources)}`);
  // What Settings > Dashboards > Energy saves when a user picks these sensors.
  await callWS(page, {
    type: "energy/save_prefs",
    energy_sources: [
      {
        type: "grid",
        flow_from: [{ stat_energy_from: sources.import, stat_cost: null, entity_energy_price: null, number_energy_price: null }],
        flow_to: [{ stat_energy_to: sources.export, stat_compensation: null, entity_energy_price: null, number_energy_price: null }],
        cost_adjustment_day: 0,
      },
      { type: "solar", stat_energy_from: sources.solar, config_entry_solar_forecast: null },
      { type: "battery", stat_energy_from: sources.discharge, stat_energy_to: sources.charge },
    ],
    device_consumption: [],
  });
  await page.goto(`${HA_URL}/config/energy`);
  check(await waitForText(page, "Grid consumption"), "energy settings page shows the grid");
  await page.waitForTimeout(1500); // validation results arrive after the page
  const text = await visibleText(page);
  check(text.includes(`${PLANT} grid meter Import energy`), "energy settings name the grid meter's import energy");
  check(text.includes(`${PLANT} battery Charge energy`) || text.includes(`${PLANT} battery Discharge energy`), "energy settings name the battery");
  const validation = await callWS(page, { type: "energy/validate" });
  // Long-term statistics are first compiled five minutes after a sensor appears: until then Home
  // Assistant says "statistics not defined" for any new sensor. Every other finding is a real problem
  // (unit, state class, device class, negative or missing states).
  const issues = [...validation.energy_sources.flat(), ...validation.device_consumption.flat()].filter(
    (issue) => issue.type !== "statistics_not_defined",
  );
  check(issues.length === 0, `energy validation finds no issue with the sensors (${JSON.stringify(issues)})`);
  await shot(page, "energy-settings");
  await page.goto(`${HA_URL}/energy`);
  check(await waitForText(page, "Energy distribution"), "Energy dashboard opens");
  for (const source of [`${PLANT} PV energy`, `${PLANT} battery Discharge energy`, `${PLANT} grid meter Import energy`]) {
    check(await waitForText(page, source), `Energy dashboard lists "${source}"`);
  }
  const dashboard = await visibleText(page);
  check(!/battery Battery|meter Grid/.test(dashboard), "Energy dashboard names repeat no words");
  await shot(page, "energy-dashboard");
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  const profile = await mkdtemp(path.join(tmpdir(), "sems-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "en-US",
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const page = context.pages()[0] ?? (await context.newPage());
  try {
    await login(page);
    await addPlant(page);
    await devicePages(page);
    await energyDashboard(page);
  } catch (error) {
    failures.push(String(error));
    console.error(error);
    await shot(page, "error").catch(() => {});
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
  console.log(`screenshots: ${ARTIFACTS} (${shots})`);
  console.log(`${failures.length === 0 ? "browser test passed" : `browser test FAILED: ${failures.length} check(s)`}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

await main();
