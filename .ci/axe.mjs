// Every page of .ci/pages.txt through axe-core in headless Chromium, logged in; exit 1 on any
// violation (or a page that does not answer as expected). Run by .ci/web-checks, which starts
// the server and passes everything through the environment:
//   BASE (http://127.0.0.1:PORT), TOKEN (bearer token, every permission), LOGIN / PASSWORD
//   (the same user, for the browser), PAGES (the list), CHROMIUM, NODE_PATH (axe-core and
//   playwright-core), AXE_TAGS (default wcag2a,wcag2aa,wcag21a,wcag21aa,best-practice).
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(join(process.env.NODE_PATH, "noop.js"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env("BASE");
const TOKEN = env("TOKEN");
const TAGS = (process.env.AXE_TAGS || "wcag2a,wcag2aa,wcag21a,wcag21aa,best-practice").split(",");

// --- The list of pages -------------------------------------------------------------------------
function readPages(file) {
  const pages = [];
  readFileSync(file, "utf8").split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const [path, ...opts] = line.split(/\s+/);
    const page = { path, from: null, status: 200, anonymous: false, line: i + 1 };
    for (const o of opts) {
      if (o.startsWith("from=")) page.from = o.slice(5);
      else if (o.startsWith("status=")) page.status = Number(o.slice(7));
      else if (o === "anonymous") page.anonymous = true;
      else throw new Error(`${file}:${i + 1}: unknown option ${o}`);
    }
    pages.push(page);
  });
  return pages;
}

// --- Ids made through the API ------------------------------------------------------------------
async function api(method, path, body) {
  const res = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** An upcoming performance, a price category, an open cart holding a ticket, a paid order. */
async function fixtures() {
  const now = new Date();
  const perfs = (await api("GET", "/api/v1/performances")).filter(
    (p) => !p.cancelled && new Date(p.starts_at) > now,
  );
  const cats = await api("GET", "/api/v1/price-categories");
  const cat = cats.find((c) => c.code === "full") || cats.find((c) => !c.needs_proof) || cats[0];
  const methods = await api("GET", "/api/v1/payment-methods");
  for (const p of perfs) {
    const hold = async () => {
      const cart = await api("POST", "/api/v1/carts", { channel: "counter" });
      return api("POST", `/api/v1/carts/${cart.id}/tickets`, {
        performance_id: p.id,
        price_category_id: cat.id,
        quantity: 2,
      });
    };
    let paid;
    try {
      paid = await hold();
    } catch {
      continue; // no price for this category here, or sold out: try the next one
    }
    const order = await api("POST", `/api/v1/carts/${paid.id}/checkout`, {
      payer: { last_name: "Lefèvre", first_name: "Anne", email: "anne.lefevre@exemple.fr" },
      payments: [{ method: methods[0].code, amount: paid.amount_due }],
    });
    const open = await hold();
    return { performance: p.id, price_category: cat.id, cart: open.id, order: order.order_id };
  }
  throw new Error("no upcoming performance where 2 places can be held");
}

// --- Pages -------------------------------------------------------------------------------------
const escape = (s) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&");

/** The page's path with its {names} filled in, from the fixtures or from a link of `from`. */
async function resolve(page, vars, browserPage) {
  let path = page.path.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  if (!/\{\w+\}/.test(path)) return path;
  if (!page.from) throw new Error(`line ${page.line}: ${page.path} needs from=LIST`);
  await browserPage.goto(BASE + page.from);
  const links = await browserPage.$$eval("a[href]", (as) =>
    as.map((a) => {
      const u = new URL(a.href);
      return u.pathname + u.search;
    }),
  );
  const re = new RegExp("^" + escape(path).replace(/\\?\{\w+\\?\}/g, "(\\d+)") + "$");
  const found = links.find((l) => re.test(l));
  if (!found) throw new Error(`line ${page.line}: no link fitting ${path} on ${page.from}`);
  return found;
}

async function login(context) {
  const p = await context.newPage();
  await p.goto(BASE + "/login");
  await p.fill('input[name="login"]', env("LOGIN"));
  await p.fill('input[name="password"]', env("PASSWORD"));
  await Promise.all([p.waitForURL((u) => !u.pathname.startsWith("/login")), p.click('button[type="submit"]')]);
  await p.close();
}

async function check(browserPage, url, expected) {
  const res = await browserPage.goto(url, { waitUntil: "load" });
  const status = res ? res.status() : 0;
  const landed = new URL(browserPage.url()).pathname;
  const problems = [];
  if (status !== expected) problems.push(`answered ${status}, expected ${expected} (now at ${landed})`);
  await browserPage.addScriptTag({ content: axeSource });
  const result = await browserPage.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
    TAGS,
  );
  for (const v of result.violations) {
    problems.push(`${v.impact} ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes.slice(0, 5)) problems.push(`    ${n.target.join(" ")}: ${n.failureSummary.replace(/\n/g, " ")}`);
    if (v.nodes.length > 5) problems.push(`    … and ${v.nodes.length - 5} more`);
  }
  return problems;
}

async function main() {
  const pages = readPages(env("PAGES"));
  const vars = await fixtures();
  const profile = mkdtempSync(join(tmpdir(), "parterre-axe-"));
  const launch = (dir) =>
    chromium.launchPersistentContext(dir, {
      executablePath: env("CHROMIUM"),
      headless: true,
      locale: "fr-FR",
      // The app's CSP (default-src 'self') rightly refuses the injected axe script: let the
      // checker's own script in, the pages' policy stays as it is for everything else.
      bypassCSP: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
  const anonProfile = mkdtempSync(join(tmpdir(), "parterre-axe-anon-"));
  const [logged, anon] = [await launch(profile), await launch(anonProfile)];
  let failures = 0;
  try {
    await login(logged);
    const bp = await logged.newPage();
    const ap = await anon.newPage();
    for (const page of pages) {
      const target = page.anonymous ? ap : bp;
      let problems;
      let path = page.path;
      try {
        path = await resolve(page, vars, target);
        problems = await check(target, BASE + path, page.status);
      } catch (e) {
        problems = [String(e.message || e)];
      }
      if (problems.length) {
        failures++;
        console.log(`FAIL ${path}`);
        for (const p of problems) console.log(`  ${p}`);
      } else {
        console.log(`ok   ${path}`);
      }
    }
  } finally {
    await logged.close();
    await anon.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(anonProfile, { recursive: true, force: true });
  }
  console.log(`axe-core: ${pages.length - failures}/${pages.length} pages without violation (${TAGS.join(", ")})`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
