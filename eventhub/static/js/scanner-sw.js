/* The scanner page's service worker: lets 扫码签到 open again when the venue's network is gone.
 *
 * Served by eventhub/checkin/views.py:service_worker as /checkin/sw.js with one line in front:
 * `const SETTINGS = {version, assets}` — the URLs the page loads and a version that changes with any
 * of them or with this file. Registered by static/js/scanner.js for the scope /checkin/events/.
 *
 * - The scanner page (/checkin/events/<id>/scan): network first, so online it is always fresh (CSRF
 *   token, session, lists). Each good answer is kept, one copy per event; when the network fails,
 *   the copy is answered instead, marked with the time it was saved so the page can say so.
 * - The page's scripts, styles and vendored libraries (SETTINGS.assets): cache first, kept at
 *   install in a cache named after the version, so a deploy brings a new worker and new files.
 * - Everything else — the JSON API, other pages, POSTs — is not touched: it goes to the network as
 *   if there were no worker, and nothing of it is ever kept. The data the page needs offline (keys,
 *   revocations, roster, pending scans) lives in IndexedDB, not here.
 */
"use strict";

const STATIC_CACHE = `eventhub-scanner-static-${SETTINGS.version}`;
const PAGE_CACHE = "eventhub-scanner-pages-v1"; // kept across versions: a copy must survive a deploy
const PAGE = /^\/checkin\/events\/\d+\/scan$/;
const PAGE_TIMEOUT_MS = 10000; // a network that hangs: answer the copy (if there is one) after this
const ASSETS = new Set(SETTINGS.assets.map((url) => new URL(url, self.location).href));
const ASSET_PATHS = new Set(Array.from(ASSETS, (url) => new URL(url).pathname));

self.addEventListener("install", (event) => {
  // cache: "reload" — the bytes the version was computed from, not an older copy from the HTTP cache.
  const requests = Array.from(ASSETS, (url) => new Request(url, { cache: "reload" }));
  event.waitUntil(
    caches
      .open(STATIC_CACHE)
      .then((cache) => cache.addAll(requests))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("eventhub-scanner-static-") && name !== STATIC_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && PAGE.test(url.pathname)) event.respondWith(page(event, url));
  else if (ASSET_PATHS.has(url.pathname)) event.respondWith(asset(request));
  // anything else: no respondWith, the browser fetches it as usual
});

/** The copy's key: the page without query or fragment. */
const pageKey = (url) => `${url.origin}${url.pathname}`;

async function page(event, url) {
  const key = pageKey(url);
  const network = fetch(event.request);
  const late = new Promise((_ok, fail) => setTimeout(() => fail(new Error("timeout")), PAGE_TIMEOUT_MS));
  let response = null;
  try {
    response = await Promise.race([network, late]);
  } catch (_error) {
    response = null; // no network (or it hangs)
  }
  if (response && response.status < 500) {
    event.waitUntil(keep(key, response.clone()));
    return response;
  }
  // No answer, or a proxy's 502 while the app is down: the copy, when this device has one.
  const copy = await (await caches.open(PAGE_CACHE)).match(key);
  if (copy) return markAsCopy(copy);
  return response || network; // never opened online here: wait for the network, else the browser's own error
}

/** Keep a good answer as the copy; anything else (the log-in page, 403, 404) means the copy must go. */
async function keep(key, response) {
  const cache = await caches.open(PAGE_CACHE);
  if (response.status !== 200 || response.type !== "basic" || response.redirected) {
    await cache.delete(key);
    return;
  }
  const headers = { "Content-Type": response.headers.get("Content-Type") || "text/html; charset=utf-8", "X-Saved-At": new Date().toISOString() };
  await cache.put(key, new Response(await response.text(), { headers }));
}

/** The copy with the time it was saved written into #scanner (data-offline-copy, empty from the server). */
async function markAsCopy(copy) {
  const savedAt = copy.headers.get("X-Saved-At") || "";
  const html = (await copy.text()).replace('data-offline-copy=""', `data-offline-copy="${savedAt}"`);
  return new Response(html, { headers: { "Content-Type": copy.headers.get("Content-Type") } });
}

async function asset(request) {
  const cache = await caches.open(STATIC_CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  try {
    return await fetch(request); // another version than this worker's: the network has it
  } catch (error) {
    // Offline with a page copy from before a deploy: the same file in this worker's version beats none.
    const near = await cache.match(request, { ignoreSearch: true });
    if (near) return near;
    throw error;
  }
}

/* Messages from the page:
 * - {type: "keep-page", url}: make sure this page has a copy (the very first visit was not answered by
 *   the worker, which was not installed yet); answers {ok} once the copy and the files are kept.
 * - {type: "forget-pages"}: the user logs out — no copy of their pages stays on the device.
 */
self.addEventListener("message", (event) => {
  const data = event.data || {};
  const reply = (answer) => event.ports[0] && event.ports[0].postMessage(answer);
  if (data.type === "keep-page") {
    const url = new URL(data.url, self.location);
    if (url.origin !== self.location.origin || !PAGE.test(url.pathname)) return reply({ ok: false });
    event.waitUntil(
      (async () => {
        const cache = await caches.open(PAGE_CACHE);
        if (!(await cache.match(pageKey(url)))) {
          try {
            await keep(pageKey(url), await fetch(pageKey(url), { cache: "no-store" }));
          } catch (_error) {
            /* offline: nothing to keep now */
          }
        }
        const staticCache = await caches.open(STATIC_CACHE);
        const files = await Promise.all(Array.from(ASSETS, (asset) => staticCache.match(asset)));
        reply({ ok: Boolean(await cache.match(pageKey(url))) && files.every(Boolean), version: SETTINGS.version });
      })(),
    );
  } else if (data.type === "forget-pages") {
    event.waitUntil(caches.delete(PAGE_CACHE).then(() => reply({ ok: true })));
  }
});
