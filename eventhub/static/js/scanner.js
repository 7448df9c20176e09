/* The scanner page (扫码签到): camera, hand-held scanner, manual search; online and offline.
 *
 * Online, every scan goes to the JSON API (/api/v1/events/<id>/checkins) with the page's session
 * and CSRF token: the server decides. Offline (navigator.onLine false, or a request failed), the
 * page decides alone with what it keeps in IndexedDB — the event's public keys, the revocation
 * list (fetched incrementally with a cursor) and the roster — exactly as
 * eventhub/registration/tickets.py:verify_payload does (same format, same reasons, same order),
 * records the scan with its own scan_id and time, and sends it to /checkins/sync when the network
 * is back (the `online` event and a periodic retry). The server merges (earliest scan wins) and
 * reports conflicts, which are shown here.
 *
 * Two more ways to survive a venue without network:
 * - A service worker (static/js/scanner-sw.js, served as /checkin/sw.js) keeps a copy of this page
 *   and of its files, so a reload or reopen while offline still opens the scanner; the worker marks
 *   such a copy (#scanner data-offline-copy = when it was saved) and the page says so. Back online,
 *   a copy fetches a fresh CSRF token before it syncs.
 * - Where WebCrypto has no Ed25519 (older Android WebViews, WeChat), signatures are verified by the
 *   vendored pure-JS noble-ed25519, imported on first need (SHA-512 still from crypto.subtle).
 */
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("scanner-config").textContent);
  const T = cfg.text;
  const EVENT = cfg.eventId;
  const PREFIX = `${cfg.userId}:${EVENT}:`; // a shared phone keeps each user's data apart
  let csrf = document.querySelector('meta[name="csrf-token"]').content; // renewed after a reload from the offline copy
  const $ = (id) => document.getElementById(id);
  const fmt = (text, vars) => text.replace(/%\((\w+)\)s/g, (_m, key) => (vars && vars[key] !== undefined && vars[key] !== null ? String(vars[key]) : ""));
  const reasonText = (reason) => T.reasons[reason] || reason || T.reasons.error;

  const CAMERA_REPEAT_MS = 3000; // the same QR held in front of the camera is sent once
  const KEYBOARD_REPEAT_MS = 800; // some hand-held scanners send a code twice
  const DOWN_FOR_MS = 20000; // after a failed request, scan offline for a while instead of waiting each time
  const REQUEST_TIMEOUT_MS = 5000;
  const SYNC_EVERY_MS = 15000;
  const REFRESH_EVERY_MS = 120000;
  const SYNC_BATCH = 200;

  const state = {
    keys: {}, // kid -> {raw: Uint8Array, crypto: Promise<CryptoKey>|null}
    revokedKids: new Set(),
    revoked: new Set(),
    cursor: 0,
    roster: new Map(), // ticket code -> {ticket, name, organisation, mobile, sessions}
    rosterAt: null,
    local: {}, // "<list>:<code>" -> {at, gate}: check-ins this device saw (offline double scans → amber)
    downUntil: 0,
    syncing: false,
    overlay: false,
    hideTimer: null,
    lastKeyboard: { text: "", at: 0 },
    lastCamera: { text: "", at: 0 },
    audio: null,
    offlineCopy: "", // when the service worker answered this page from its copy: the time the copy was saved
    freshToken: false, // the copy's CSRF token was replaced by a current one
  };

  // ---- IndexedDB ---------------------------------------------------------------------------

  let dbPromise = null;
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open("eventhub-scanner", 1);
        request.onupgradeneeded = () => {
          const db = request.result;
          db.createObjectStore("kv");
          const scans = db.createObjectStore("scans", { keyPath: "scan_id" });
          scans.createIndex("owner", "owner");
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return dbPromise;
  }
  async function tx(store, mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode);
      const result = work(transaction.objectStore(store));
      transaction.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }
  const kvGet = (key) => tx("kv", "readonly", (s) => s.get(PREFIX + key));
  const kvPut = (key, value) => tx("kv", "readwrite", (s) => s.put(value, PREFIX + key));
  const pendingScans = () => tx("scans", "readonly", (s) => s.index("owner").getAll(PREFIX));
  const putScan = (scan) => tx("scans", "readwrite", (s) => s.put({ ...scan, owner: PREFIX }));
  const deleteScans = (ids) => tx("scans", "readwrite", (s) => ids.forEach((id) => s.delete(id)));

  // ---- small helpers -----------------------------------------------------------------------

  function newScanId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const beijing = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const showTime = (iso) => (iso ? beijing.format(new Date(iso)) : "");
  const listId = () => Number($("list-select").value);
  const gate = () => $("gate-input").value.trim();
  const isOnline = () => navigator.onLine && Date.now() >= state.downUntil;

  class NetworkError extends Error {}

  async function api(path, options = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(cfg.api + path, {
        method: options.method || "GET",
        headers: options.body ? { "Content-Type": "application/json", "X-CSRFToken": csrf } : {},
        body: options.body ? JSON.stringify(options.body) : undefined,
        credentials: "same-origin",
        signal: controller.signal,
        cache: "no-store",
      });
    } catch (exc) {
      throw new NetworkError(String(exc));
    } finally {
      clearTimeout(timer);
    }
    if (response.status >= 500) throw new NetworkError(`HTTP ${response.status}`); // a proxy without its app: treat as offline
    let body = {};
    try {
      body = await response.json();
    } catch (_exc) {
      body = { result: "error", reason: response.redirected ? "missing_token" : "error" }; // e.g. the log-in page after a session ended
    }
    return { status: response.status, body };
  }
  function markDown() {
    state.downUntil = Date.now() + DOWN_FOR_MS;
    showNet();
  }
  function markUp() {
    state.downUntil = 0;
    showNet();
  }

  // ---- offline data: keys, revocations, roster ---------------------------------------------

  function b64bytes(text) {
    const raw = atob(text);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  /** RFC 4648 base32 without padding; null unless canonical (unused trailing bits zero), as tickets.b32decode. */
  function b32decode(text) {
    let value = 0;
    let bits = 0;
    const out = [];
    for (const ch of text) {
      const v = B32.indexOf(ch);
      if (v < 0) return null;
      value = (value << 5) | v;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out.push((value >> bits) & 0xff);
      }
      value &= (1 << bits) - 1;
    }
    return value === 0 ? new Uint8Array(out) : null;
  }

  function applyKeys(keys) {
    state.keys = {};
    state.revokedKids = new Set();
    for (const key of keys || []) {
      if (key.status === "revoked" || !key.public_key) state.revokedKids.add(key.kid);
      else state.keys[key.kid] = { raw: b64bytes(key.public_key), crypto: null };
    }
  }
  function applyRoster(roster) {
    state.roster = new Map((roster.tickets || []).map((entry) => [entry.ticket, entry]));
    state.rosterAt = roster.generated_at || null;
  }

  async function loadCached() {
    try {
      const [keys, revocations, roster, local] = await Promise.all([kvGet("keys"), kvGet("revocations"), kvGet("roster"), kvGet("local")]);
      if (keys) applyKeys(keys);
      if (revocations) {
        state.revoked = new Set(revocations.codes);
        state.cursor = revocations.cursor || 0;
      }
      if (roster) applyRoster(roster);
      if (local) state.local = local;
      prepareVerifier();
    } catch (exc) {
      console.warn("scanner: IndexedDB unavailable", exc);
    }
    showDataStatus();
  }

  async function refreshData() {
    if (!navigator.onLine) return;
    try {
      const keys = await api("/keys");
      if (keys.status !== 200) return;
      applyKeys(keys.body.keys);
      prepareVerifier();
      await kvPut("keys", keys.body.keys);
      let more = true;
      while (more) {
        const page = await api(`/revocations?since=${state.cursor}`);
        if (page.status !== 200) return;
        page.body.revocations.forEach((row) => state.revoked.add(row.ticket));
        state.cursor = page.body.cursor;
        more = page.body.more && page.body.revocations.length > 0;
      }
      await kvPut("revocations", { cursor: state.cursor, codes: Array.from(state.revoked) });
      const roster = await api("/roster");
      if (roster.status !== 200) return;
      applyRoster(roster.body);
      await kvPut("roster", { generated_at: roster.body.generated_at, tickets: roster.body.tickets });
      markUp();
      $("scanner").dataset.ready = "1";
    } catch (exc) {
      if (exc instanceof NetworkError) markDown();
      else console.warn("scanner: refresh failed", exc);
    }
    showDataStatus();
    runSearch();
  }

  function showDataStatus() {
    const el = $("data-status");
    if (!Object.keys(state.keys).length && !state.roster.size) {
      el.textContent = T.dataMissing;
      return;
    }
    el.textContent = fmt(T.dataUpdated, { tickets: state.roster.size, revoked: state.revoked.size, at: state.rosterAt ? showTime(state.rosterAt) : "—" });
  }

  // ---- offline verification (mirror of tickets.verify_payload) ------------------------------

  const PAYLOAD_V1 = /^EH1\.([A-Z2-7]{4,8})\.([1-9][0-9]{0,17})\.([A-Z2-7]{8,16})\.([A-Z2-7]{103})$/;
  const VERSION = /^EH([0-9]{1,3})\./;

  let noble = null; // Promise of the vendored noble-ed25519 module, imported where WebCrypto lacks Ed25519

  /** The key in WebCrypto (a Promise of the CryptoKey), or of false where crypto.subtle has no Ed25519. */
  function webcryptoKey(key) {
    if (!key.crypto) {
      key.crypto = Promise.resolve()
        .then(() => crypto.subtle.importKey("raw", key.raw, { name: "Ed25519" }, false, ["verify"]))
        .catch(() => false); // older Android WebViews (WeChat) reject the algorithm
    }
    return key.crypto;
  }
  function loadNoble() {
    if (!noble) noble = import(cfg.ed25519).catch((exc) => ((noble = null), Promise.reject(exc)));
    return noble;
  }
  /** Online, with the keys just loaded: import the library now if it will be needed, not at the first offline scan. */
  async function prepareVerifier() {
    const key = Object.values(state.keys)[0];
    if (key && !(await webcryptoKey(key))) loadNoble().catch((exc) => console.warn("scanner: noble-ed25519 not loaded", exc));
  }

  /** WebCrypto's Ed25519 where the browser has it; else the vendored noble-ed25519 (same answers). */
  async function verifySignature(kid, message, signature) {
    const key = state.keys[kid];
    const data = new TextEncoder().encode(message);
    const imported = await webcryptoKey(key);
    if (imported) {
      try {
        const valid = await crypto.subtle.verify({ name: "Ed25519" }, imported, signature, data);
        $("scanner").dataset.ed25519 = "webcrypto";
        return valid;
      } catch (_exc) {
        key.crypto = Promise.resolve(false); // imported but cannot verify: use the library from now on
      }
    }
    const ed = await loadNoble();
    // zip215 false: RFC 8032 / FIPS 186-5 strict, as the server's `cryptography` verifies
    const valid = await ed.verifyAsync(signature, data, key.raw, { zip215: false });
    $("scanner").dataset.ed25519 = "noble";
    return valid;
  }

  /** {ok, reason, code}: the same checks and order as the server's verify_payload. */
  async function verifyPayload(text) {
    const match = PAYLOAD_V1.exec(text);
    if (!match) {
      const version = VERSION.exec(text);
      return { ok: false, reason: version && version[1] !== "1" ? "unsupported_version" : "malformed" };
    }
    const [, kid, eventId, code, sig] = match;
    const signature = b32decode(sig);
    if (!signature || signature.length !== 64) return { ok: false, reason: "malformed", code };
    if (eventId !== String(EVENT)) return { ok: false, reason: "other_event", code };
    if (state.revokedKids.has(kid)) return { ok: false, reason: "revoked", code }; // the server says so too
    if (!state.keys[kid]) return { ok: false, reason: "unknown_key", code };
    let valid;
    try {
      valid = await verifySignature(kid, `EH1.${kid}.${eventId}.${code}`, signature);
    } catch (exc) {
      console.warn("scanner: Ed25519 not available", exc);
      return { ok: false, reason: "unknown_key", code };
    }
    if (!valid) return { ok: false, reason: "invalid_signature", code };
    if (state.revoked.has(code)) return { ok: false, reason: "revoked", code };
    return { ok: true, code };
  }

  /** The offline verdict for a scan: {kind, reason?, code, entry, first?}. */
  async function judgeOffline(scan) {
    let code;
    if (scan.manual) {
      code = scan.ticket;
      if (state.revoked.has(code)) return { kind: "refused", reason: "revoked", code, entry: state.roster.get(code) };
      if (!state.roster.has(code)) return { kind: "refused", reason: "not_found", code };
    } else {
      const verdict = await verifyPayload(scan.payload);
      // No name for a refused payload: a forged or foreign QR may carry a real person's code.
      if (!verdict.ok) return { kind: "refused", reason: verdict.reason, code: verdict.code };
      code = verdict.code;
    }
    const entry = state.roster.get(code);
    const list = cfg.lists.find((row) => row.id === scan.list_id);
    if (entry && list && list.sessionId && !(entry.sessions || []).includes(list.sessionId)) return { kind: "refused", reason: "wrong_session", code, entry };
    const seen = state.local[`${scan.list_id}:${code}`];
    if (seen) return { kind: "already", code, entry, first: seen };
    return { kind: "ok", code, entry };
  }

  async function remember(listKey, code, at, gateName) {
    const key = `${listKey}:${code}`;
    if (state.local[key]) return;
    state.local[key] = { at, gate: gateName };
    try {
      await kvPut("local", state.local);
    } catch (exc) {
      console.warn("scanner: could not store", exc);
    }
  }

  // ---- one scan ----------------------------------------------------------------------------

  async function checkin(item) {
    const scan = { scan_id: newScanId(), list_id: listId(), gate: gate(), scanned_at: new Date().toISOString(), ...item };
    if (isOnline()) {
      try {
        const body = { scan_id: scan.scan_id, list_id: scan.list_id, gate: scan.gate };
        if (scan.manual) Object.assign(body, { ticket: scan.ticket, manual: true });
        else body.payload = scan.payload;
        const response = await api("/checkins", { method: "POST", body });
        markUp();
        await showServerResult(response, scan);
        syncPending();
        return;
      } catch (exc) {
        if (!(exc instanceof NetworkError)) throw exc;
        markDown();
      }
    }
    const verdict = await judgeOffline(scan);
    await putScan({ ...scan, local: verdict.kind, code: verdict.code || null });
    if (verdict.kind === "ok") await remember(scan.list_id, verdict.code, scan.scanned_at, scan.gate);
    await showPending();
    const entry = verdict.entry;
    if (verdict.kind === "ok") {
      show({ kind: "ok", offline: true, name: entry ? entry.name : "", org: entry ? entry.organisation : "", detail: entry ? "" : T.unknownName });
    } else if (verdict.kind === "already") {
      show({
        kind: "already", offline: true, name: entry ? entry.name : "", org: entry ? entry.organisation : "",
        detail: fmt(T.alreadyLocal, { at: showTime(verdict.first.at), gate: verdict.first.gate || T.noGate }),
      });
    } else {
      show({ kind: "refused", offline: true, name: entry ? entry.name : "", org: entry ? entry.organisation : "", detail: reasonText(verdict.reason) });
    }
  }

  async function showServerResult(response, scan) {
    const body = response.body || {};
    if (body.result === "ok") {
      await remember(scan.list_id, body.ticket, body.checked_in_at, scan.gate);
      show({ kind: "ok", name: body.name, org: body.organisation, detail: "" });
    } else if (body.result === "already") {
      const first = body.first || {};
      await remember(scan.list_id, body.ticket, first.at, first.gate);
      const lines = [fmt(T.alreadyAt, { at: showTime(first.at) }), fmt(T.alreadyGate, { gate: first.gate || T.noGate })];
      if (first.staff) lines.push(fmt(T.alreadyStaff, { staff: first.staff }));
      show({ kind: "already", name: body.name, org: body.organisation, detail: lines.join("\n") });
    } else {
      show({ kind: "refused", name: body.name || "", org: body.organisation || "", detail: reasonText(body.reason), reason: body.reason });
    }
  }

  // ---- the full-screen result --------------------------------------------------------------

  function show(result) {
    const box = $("result");
    box.dataset.result = result.kind;
    box.dataset.reason = result.reason || "";
    box.dataset.offline = result.offline ? "1" : "0";
    $("result-title").textContent = result.kind === "ok" ? T.ok : result.kind === "already" ? T.already : T.refused;
    $("result-name").textContent = result.name || "";
    $("result-org").textContent = result.org || "";
    $("result-detail").textContent = result.detail || "";
    $("result-offline").classList.toggle("d-none", !result.offline);
    box.classList.remove("d-none");
    state.overlay = true;
    feedback(result.kind);
    clearTimeout(state.hideTimer);
    state.hideTimer = setTimeout(hide, result.kind === "ok" ? 3000 : 5000);
  }
  function hide() {
    clearTimeout(state.hideTimer);
    $("result").classList.add("d-none");
    state.overlay = false;
    focusScanInput();
  }

  function feedback(kind) {
    const patterns = { ok: [80], already: [80, 80, 80], refused: [300, 100, 300] };
    try {
      if (navigator.vibrate) navigator.vibrate(patterns[kind]);
    } catch (_exc) {
      /* not allowed without a gesture on some browsers */
    }
    const ctx = state.audio;
    if (!ctx || ctx.state !== "running") return;
    const tones = { ok: [[1046, 0, 0.12]], already: [[660, 0, 0.1], [660, 0.16, 0.1]], refused: [[220, 0, 0.45]] }[kind];
    for (const [freq, start, length] of tones) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = kind === "refused" ? "square" : "sine";
      osc.frequency.value = freq;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + start);
      osc.stop(ctx.currentTime + start + length);
    }
  }
  function unlockAudio() {
    // Browsers allow sound only after a gesture: create / resume the context on the first one.
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!state.audio) state.audio = new Ctx();
    if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
  }

  // ---- input: hand-held scanner / typing, camera, search -----------------------------------

  function handleText(raw, source) {
    const text = (raw || "").trim().toUpperCase();
    if (!text) return;
    const now = Date.now();
    if (source === "camera") {
      const last = state.lastCamera;
      const repeated = text === last.text && now - last.at < CAMERA_REPEAT_MS;
      state.lastCamera = { text, at: now }; // held in front of the camera: keeps being "the same"
      if (repeated || state.overlay) return;
    } else {
      if (text === state.lastKeyboard.text && now - state.lastKeyboard.at < KEYBOARD_REPEAT_MS) return;
      state.lastKeyboard = { text, at: now };
    }
    checkin({ payload: text }).catch((exc) => console.error("scanner:", exc));
  }

  function focusScanInput() {
    const input = $("scan-input");
    const active = document.activeElement;
    if (active && active !== document.body && active !== input && active.matches("input, select, textarea, button")) return; // the user is elsewhere on purpose
    input.focus({ preventScroll: true });
  }

  function setupKeyboard() {
    const input = $("scan-input");
    $("scan-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = input.value;
      input.value = "";
      handleText(value, "keyboard");
    });
    input.addEventListener("blur", () => setTimeout(focusScanInput, 400));
    document.addEventListener(
      "keydown",
      (event) => {
        unlockAudio();
        if (state.overlay) {
          // The next ticket is already being scanned: close the result and let it through.
          hide();
          if (event.key === "Enter" || event.key === "Escape") {
            event.preventDefault();
            return;
          }
        }
        const active = document.activeElement;
        if ((!active || active === document.body) && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
          input.focus({ preventScroll: true }); // a scanner typing while nothing has focus
        }
      },
      true,
    );
    document.addEventListener("pointerdown", unlockAudio, { capture: true });
    $("result").addEventListener("click", hide);
    focusScanInput();
  }

  let stream = null;
  let detector = null;
  let loopTimer = null;
  const canvas = document.createElement("canvas");

  function cameraMessage(text) {
    $("camera-msg").textContent = text;
  }

  async function startCamera() {
    if (!window.isSecureContext) return cameraMessage(T.cameraInsecure);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return cameraMessage(T.cameraNone);
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } });
    } catch (exc) {
      stream = null;
      if (exc.name === "NotAllowedError" || exc.name === "SecurityError") cameraMessage(T.cameraDenied);
      else if (exc.name === "NotFoundError" || exc.name === "OverconstrainedError" || exc.name === "DevicesNotFoundError") cameraMessage(T.cameraNone);
      else cameraMessage(fmt(T.cameraError, { error: exc.message || exc.name }));
      localStorage.removeItem(PREFIX + "camera");
      return;
    }
    const video = $("camera");
    video.srcObject = stream;
    try {
      await video.play();
    } catch (_exc) {
      /* muted inline video plays; ignore a pause race */
    }
    $("camera-box").classList.add("is-on");
    $("camera-toggle").textContent = T.cameraStop;
    cameraMessage(T.cameraOn);
    localStorage.setItem(PREFIX + "camera", "1");
    if (!detector && "BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (_exc) {
        detector = null;
      }
    }
    $("camera-box").dataset.decoder = detector ? "BarcodeDetector" : "jsQR";
    scanLoop();
  }

  function stopCamera() {
    clearTimeout(loopTimer);
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("camera").srcObject = null;
    $("camera-box").classList.remove("is-on");
    $("camera-toggle").textContent = T.cameraStart;
    cameraMessage("");
    localStorage.removeItem(PREFIX + "camera");
  }

  async function decodeFrame(video) {
    if (detector) {
      try {
        const codes = await detector.detect(video);
        return codes.length ? codes[0].rawValue : null;
      } catch (_exc) {
        detector = null; // fall back to jsQR from now on
      }
    }
    if (typeof window.jsQR !== "function") return null;
    const scale = Math.min(1, 800 / video.videoWidth);
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, width, height);
    const found = window.jsQR(ctx.getImageData(0, 0, width, height).data, width, height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }

  async function scanLoop() {
    if (!stream) return;
    const video = $("camera");
    if (video.readyState >= 2 && video.videoWidth > 0 && !document.hidden) {
      try {
        const text = await decodeFrame(video);
        if (text) handleText(text, "camera");
      } catch (exc) {
        console.warn("scanner: decode failed", exc);
      }
    }
    loopTimer = setTimeout(scanLoop, 150);
  }

  function setupCamera() {
    $("camera-toggle").addEventListener("click", () => {
      unlockAudio();
      if (stream) stopCamera();
      else startCamera();
    });
    if (localStorage.getItem(PREFIX + "camera") === "1") startCamera(); // it was on last time on this device
  }

  function matches(entry, query) {
    if (/^\d+$/.test(query)) {
      const digits = (entry.mobile || "").replace(/\D/g, ""); // masked: first three and last four digits
      if (query.length <= 4) return digits.endsWith(query);
      return query.length === 11 && query.startsWith(digits.slice(0, 3)) && query.endsWith(digits.slice(-4));
    }
    const q = query.toLowerCase();
    return (entry.name || "").toLowerCase().includes(q) || (entry.organisation || "").toLowerCase().includes(q);
  }

  function runSearch() {
    const box = $("search-results");
    const query = $("search-input").value.trim();
    box.replaceChildren();
    if (!query) return;
    if (!state.roster.size) {
      box.append(Object.assign(document.createElement("div"), { className: "list-group-item small text-muted", textContent: T.noRoster }));
      return;
    }
    const found = [];
    for (const entry of state.roster.values()) {
      if (matches(entry, query)) found.push(entry);
      if (found.length >= 20) break;
    }
    if (!found.length) {
      box.append(Object.assign(document.createElement("div"), { className: "list-group-item small text-muted", textContent: T.searchEmpty }));
      return;
    }
    for (const entry of found) {
      const row = document.createElement("div");
      row.className = "list-group-item d-flex justify-content-between align-items-center gap-2 px-1";
      row.dataset.ticket = entry.ticket;
      const who = document.createElement("div");
      who.className = "min-w-0";
      const name = Object.assign(document.createElement("div"), { className: "fw-bold", textContent: entry.name });
      const detail = Object.assign(document.createElement("div"), { className: "small text-muted", textContent: `${entry.organisation} · ${entry.mobile}` });
      who.append(name, detail);
      const seen = state.local[`${listId()}:${entry.ticket}`];
      if (seen) who.append(Object.assign(document.createElement("span"), { className: "badge text-bg-warning", textContent: T.already }));
      const button = Object.assign(document.createElement("button"), { type: "button", className: "btn btn-primary flex-shrink-0 manual-checkin", textContent: T.checkinButton });
      button.addEventListener("click", () => {
        unlockAudio();
        checkin({ ticket: entry.ticket, manual: true })
          .then(runSearch)
          .catch((exc) => console.error("scanner:", exc));
      });
      row.append(who, button);
      box.append(row);
    }
  }

  // ---- sync --------------------------------------------------------------------------------

  async function showPending() {
    let count = 0;
    try {
      count = (await pendingScans()).length;
    } catch (_exc) {
      count = 0;
    }
    const el = $("pending-count");
    el.dataset.count = String(count);
    el.textContent = fmt(T.pending, { n: count });
    el.className = `badge mt-1 ${count ? "text-bg-warning" : "text-bg-secondary"}`;
    return count;
  }

  function showNet() {
    const el = $("net-status");
    const online = isOnline();
    el.dataset.online = online ? "1" : "0";
    el.textContent = online ? T.online : T.offline;
    el.className = `badge ${online ? "text-bg-success" : "text-bg-danger"}`;
  }

  function report(lines, failed) {
    const el = $("sync-report");
    el.classList.remove("d-none", "alert-warning", "alert-success", "alert-danger");
    el.classList.add(failed ? "alert-danger" : lines.length > 1 ? "alert-warning" : "alert-success");
    el.replaceChildren(...lines.map((line) => Object.assign(document.createElement("div"), { textContent: line })));
  }

  async function syncPending() {
    if (state.syncing || !navigator.onLine) return;
    if (state.offlineCopy && !state.freshToken && !(await renewToken())) return; // still no network: later
    let pending;
    try {
      pending = await pendingScans();
    } catch (_exc) {
      return;
    }
    if (!pending.length) return showPending();
    state.syncing = true;
    let synced = 0;
    const lines = [];
    try {
      const byList = new Map();
      pending.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
      for (const scan of pending) {
        if (!byList.has(scan.list_id)) byList.set(scan.list_id, []);
        byList.get(scan.list_id).push(scan);
      }
      for (const [list, scans] of byList) {
        for (let i = 0; i < scans.length; i += SYNC_BATCH) {
          const batch = scans.slice(i, i + SYNC_BATCH);
          const body = {
            list_id: list,
            scans: batch.map((s) => ({
              scan_id: s.scan_id, scanned_at: s.scanned_at, gate: s.gate, ...(s.manual ? { ticket: s.ticket, manual: true } : { payload: s.payload }),
            })),
          };
          const response = await api("/checkins/sync", { method: "POST", body });
          if (response.status !== 200) {
            report([`${T.syncFailed}（${reasonText(response.body.reason)}）`], true);
            return;
          }
          markUp();
          const localOf = new Map(batch.map((s) => [s.scan_id, s]));
          for (const result of response.body.results) {
            const mine = localOf.get(result.scan_id);
            if (mine && mine.local === "ok" && result.status === 422) {
              lines.push(fmt(T.syncRefused, { ticket: result.ticket || "", name: result.name || "", reason: reasonText(result.reason) }));
            }
          }
          for (const conflict of response.body.conflicts) {
            if (conflict.resolution === "earlier_wins") {
              const replaced = conflict.replaced || {};
              lines.push(fmt(T.conflictEarlier, { ticket: conflict.ticket, at: showTime(replaced.at), gate: replaced.gate || T.noGate }));
            } else {
              lines.push(fmt(T.conflictKept, { ticket: conflict.ticket }));
            }
          }
          await deleteScans(response.body.results.map((r) => r.scan_id));
          synced += response.body.results.length;
        }
      }
      report([fmt(T.synced, { n: synced }), ...lines], false);
    } catch (exc) {
      if (exc instanceof NetworkError) markDown();
      report([T.syncFailed], true);
    } finally {
      state.syncing = false;
      await showPending();
    }
  }

  // ---- the offline copy of this page (service worker) -----------------------------------------

  /** Ask the active service worker something; its answer, or null after a while. */
  function askWorker(worker, message, waitMs = 10000) {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      const timer = setTimeout(() => resolve(null), waitMs);
      channel.port1.onmessage = (event) => {
        clearTimeout(timer);
        resolve(event.data);
      };
      worker.postMessage(message, [channel.port2]);
    });
  }

  /** Register the worker and make sure this page and its files are kept (#scanner data-offline-ready). */
  async function setupServiceWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return; // HTTPS or localhost only
    navigator.serviceWorker.register(cfg.serviceWorker, { scope: cfg.serviceWorkerScope }).catch((exc) => {
      console.warn("scanner: service worker not registered", exc); // offline: the installed one goes on
    });
    const registration = await navigator.serviceWorker.ready;
    const answer = await askWorker(registration.active, { type: "keep-page", url: location.href });
    if (answer && answer.ok) $("scanner").dataset.offlineReady = "1";
    // A user who logs out leaves no copy of their pages on the device.
    const logout = document.querySelector('form[action$="/logout"]');
    if (logout) {
      logout.addEventListener("submit", (event) => {
        if (logout.dataset.forgotten) return;
        event.preventDefault();
        askWorker(registration.active, { type: "forget-pages" }, 1500).then(() => {
          logout.dataset.forgotten = "1";
          logout.submit();
        });
      });
    }
  }

  function showOfflineCopy(back) {
    const el = $("offline-copy");
    el.textContent = back ? T.offlineCopyBack : fmt(T.offlineCopy, { at: showTime(state.offlineCopy) });
    el.classList.toggle("alert-warning", !back);
    el.classList.toggle("alert-info", back);
    el.classList.remove("d-none");
  }

  /** A copy's CSRF token may have expired (8 h): fetch the page again (a plain fetch: the worker
   * leaves it to the network) and take the current token. False while the network is still gone. */
  async function renewToken() {
    try {
      const response = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
      if (response.status >= 500) return false; // a proxy without its app: as offline (see api())
      const html = await response.text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const meta = doc.querySelector('meta[name="csrf-token"]');
      const scanner = doc.getElementById("scanner");
      if (scanner && scanner.dataset.offlineCopy) return false; // the worker answered its copy again: no network
      // Not the scanner page (the log-in page, 403): the session is gone; syncing says so (missing_token).
      if (scanner && meta) csrf = meta.content;
      state.freshToken = true;
      showOfflineCopy(true);
      return true;
    } catch (_exc) {
      return false;
    }
  }

  // ---- settings and start ------------------------------------------------------------------

  function setupSettings() {
    const select = $("list-select");
    const savedList = localStorage.getItem(PREFIX + "list");
    if (savedList && cfg.lists.some((row) => String(row.id) === savedList)) select.value = savedList;
    const savedGate = localStorage.getItem(PREFIX + "gate");
    if (savedGate !== null) $("gate-input").value = savedGate;
    select.addEventListener("change", () => {
      localStorage.setItem(PREFIX + "list", select.value);
      runSearch();
    });
    $("gate-input").addEventListener("change", () => localStorage.setItem(PREFIX + "gate", gate()));
    $("search-input").addEventListener("input", runSearch);
  }

  async function start() {
    state.offlineCopy = $("scanner").dataset.offlineCopy || "";
    if (state.offlineCopy) {
      markDown(); // the network just failed the page itself: scan offline straight away
      showOfflineCopy(false);
    }
    setupServiceWorker().catch((exc) => console.warn("scanner: service worker", exc));
    setupSettings();
    setupKeyboard();
    setupCamera();
    showNet();
    window.addEventListener("online", () => {
      markUp();
      syncPending().then(refreshData);
    });
    window.addEventListener("offline", showNet);
    await loadCached();
    await showPending();
    await refreshData();
    await syncPending();
    setInterval(() => {
      showNet();
      syncPending();
    }, SYNC_EVERY_MS);
    setInterval(refreshData, REFRESH_EVERY_MS);
  }

  start();
})();
