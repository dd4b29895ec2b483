// Reads the dashboard as a user sees it: headless Chromium signs in through the login
// form, waits for the page to render its counts, and prints what the DOM shows as JSON
// ({"counts": [[kind, key, value], ...], "tiles": {...}}); optionally saves a screenshot.
// Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe), so it
// needs nothing but Node and the browser.
//
// node tests/e2e/dashboard_dom.mjs BASE_URL TOKEN [SCREENSHOT.png] [WINDOW]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, token, screenshot, window = "hour"] = process.argv.slice(2);
if (!base || !token) {
  console.error("usage: dashboard_dom.mjs BASE_URL TOKEN [SCREENSHOT.png] [hour|day]");
  process.exit(2);
}
const browser = process.env.CHROMIUM || "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "edgeseg-chromium-"));
const chromium = spawn(browser, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
  "--remote-debugging-pipe", `--user-data-dir=${profile}`, "--window-size=1280,1800", "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
chromium.stderr.on("data", (d) => { stderr += d; });

const toBrowser = chromium.stdio[3];
const fromBrowser = chromium.stdio[4];
let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffer = Buffer.alloc(0);
fromBrowser.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  let end;
  while ((end = buffer.indexOf(0)) >= 0) {
    const message = JSON.parse(buffer.subarray(0, end).toString("utf8"));
    buffer = buffer.subarray(end + 1);
    if (message.id && waiting.has(message.id)) {
      const { resolve, reject } = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) reject(new Error(JSON.stringify(message.error)));
      else resolve(message.result);
    } else {
      for (const listener of listeners.slice()) listener(message);
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  const message = { id, method, params };
  if (sessionId) message.sessionId = sessionId;
  toBrowser.write(JSON.stringify(message) + "\0");
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

function once(method, sessionId, ms = 30000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${method} within ${ms} ms`)), ms);
    const listener = (message) => {
      if (message.method === method && message.sessionId === sessionId) {
        clearTimeout(timer);
        listeners.splice(listeners.indexOf(listener), 1);
        resolve(message.params);
      }
    };
    listeners.push(listener);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const { targetInfos } = await send("Target.getTargets");
  const page = targetInfos.find((t) => t.type === "page");
  const { sessionId } = await send("Target.attachToTarget", { targetId: page.targetId, flatten: true });
  const evaluate = async (expression) => {
    const { result, exceptionDetails } = await send("Runtime.evaluate",
      { expression, returnByValue: true, awaitPromise: true }, sessionId);
    if (exceptionDetails) throw new Error(JSON.stringify(exceptionDetails));
    return result.value;
  };
  await send("Page.enable", {}, sessionId);
  await send("Emulation.setDeviceMetricsOverride",
    { width: 1280, height: 1800, deviceScaleFactor: 1, mobile: false }, sessionId);

  // Without the cookie the page is the login form (401).
  let loaded = once("Page.loadEventFired", sessionId);
  await send("Page.navigate", { url: `${base}/__edgeseg/dashboard` }, sessionId);
  await loaded;
  const form = await evaluate("!!document.getElementById('token') && !document.getElementById('tiles')");
  if (!form) throw new Error("the dashboard showed more than a login form before signing in");

  loaded = once("Page.loadEventFired", sessionId);
  await evaluate(`document.getElementById('token').value = ${JSON.stringify(token)};
                  document.querySelector('form').submit(); true`);
  await loaded;
  if (window !== "hour") {
    await evaluate(`document.getElementById('window').value = ${JSON.stringify(window)};
                    document.getElementById('window').dispatchEvent(new Event('change')); true`);
  }
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const ready = await evaluate(
      `document.body && document.body.dataset.loaded === '1' && document.body.dataset.window === ${JSON.stringify(window)}`);
    if (ready) break;
    await sleep(200);
  }
  const state = await evaluate(`(() => {
    if (!document.body || document.body.dataset.loaded !== '1') {
      return { error: 'the dashboard did not render: ' + (document.getElementById('status') || document.body).textContent };
    }
    const counts = [...document.querySelectorAll('[data-kind]')].map((e) =>
      [e.dataset.kind, e.dataset.key, e.dataset.count !== undefined ? Number(e.dataset.count) : (e.dataset.psi === '' ? null : Number(e.dataset.psi))]);
    const tiles = Object.fromEntries([...document.querySelectorAll('[data-tile]')].map((e) => [e.dataset.tile, Number(e.dataset.count)]));
    return { counts, tiles, title: document.title };
  })()`);
  if (state.error) throw new Error(state.error);
  if (screenshot) {
    const { data } = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true }, sessionId);
    writeFileSync(screenshot, Buffer.from(data, "base64"));
  }
  process.stdout.write(JSON.stringify(state) + "\n");
}

const watchdog = setTimeout(() => { console.error("timed out"); finish(1); }, 90000);
function finish(code) {
  clearTimeout(watchdog);
  try { chromium.kill("SIGKILL"); } catch { /* already gone */ }
  try { rmSync(profile, { recursive: true, force: true }); } catch { /* best effort */ }
  process.exit(code);
}
main().then(() => finish(0), (error) => {
  console.error(`dashboard_dom: ${error.message}\n${stderr.slice(-2000)}`);
  finish(1);
});
