// An officer signs in to the console, opens the queue and one application's detail, in Debian's Firefox ESR.
//
// Driven by puppeteer-core over WebDriver BiDi (no browser download: the system Firefox ESR at
// FIREFOX, `make firefox` installs it). Run by tests/console/test_firefox.py against a live app:
//
//   node tests/console/firefox.mjs BASE_URL USERNAME PASSWORD APPLICATION_ID SCREENSHOT_DIR
//
// Prints one JSON line of what the pages showed; exits non-zero on any failure or script error.
import puppeteer from "puppeteer-core";

const [base, username, password, applicationId, shots] = process.argv.slice(2);
const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: FIREFOX,
  headless: true,
  extraPrefsFirefox: { "intl.accept_languages": "zh-CN", "browser.aboutConfig.showWarning": false },
});
// The field a <label> names (Firefox over BiDi has no accessibility-tree queries, so by the label's own text).
async function byLabel(page, text) {
  const id = await page.$$eval("label", (labels, wanted) => {
    const label = labels.find((l) => l.textContent.trim() === wanted);
    return label ? label.htmlFor : null;
  }, text);
  if (!id) throw new Error(`no field labelled ${text}`);
  return `#${id}`;
}

async function button(page, text) {
  const handle = await page.waitForSelector(`button::-p-text(${text})`);
  const exact = await handle.evaluate((b, wanted) => b.textContent.trim() === wanted, text);
  if (!exact) throw new Error(`no button named ${text}`);
  return handle;
}

const seen = { version: await browser.version(), errors: [] };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  await page.setViewport({ width: 1366, height: 768 });
  page.on("pageerror", (error) => seen.errors.push(String(error)));

  // Signing in: the labels and the button by their accessible names.
  await page.goto(`${base}/console/review`);
  seen.loginUrl = new URL(page.url()).pathname;
  await page.type(await byLabel(page, "用户名"), username);
  await page.type(await byLabel(page, "密码"), password);
  const signIn = await button(page, "登录");
  await Promise.all([page.waitForNavigation(), signIn.click()]);

  // The queue: its heading, its rows, and the console's script at work (it shows the 全选 box).
  seen.queueUrl = new URL(page.url()).pathname;
  seen.queueHeading = await page.$eval("h1", (h) => h.textContent.trim());
  seen.queueRows = await page.$$eval("tbody tr", (rows) => rows.map((r) => r.textContent.replace(/\s+/g, " ").trim()));
  seen.tickAllShown = await page.$eval("#tick-all", (box) => !box.hidden);
  seen.navReview = await page.$eval('nav a[aria-current="page"]', (a) => a.textContent.trim());
  await page.screenshot({ path: `${shots}/firefox-queue.png`, fullPage: true });

  // One application's detail, through its row's link.
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/console/review/${applicationId}"]`)]);
  seen.detailUrl = new URL(page.url()).pathname;
  seen.detailHeading = await page.$eval("h1", (h) => h.textContent.replace(/\s+/g, " ").trim());
  seen.detailSections = await page.$$eval("h2", (hs) => hs.map((h) => h.textContent.trim()));
  seen.decisionButtons = await page.$$eval('button[name="action"]', (bs) => bs.map((b) => b.textContent.trim()));
  seen.layout = await page.$eval("dl.facts", (dl) => getComputedStyle(dl).display);
  await page.screenshot({ path: `${shots}/firefox-detail.png`, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
