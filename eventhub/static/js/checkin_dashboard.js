/* The live check-in dashboard: polls its JSON endpoint every 10 s and redraws the figures in place.
 * Times arrive already formatted in Beijing time (the server's format_local), so the viewer's own
 * time zone never matters. No library: rows are rebuilt with textContent (no HTML from the server). */
(function () {
  'use strict';
  var root = document.getElementById('checkin-dashboard');
  if (!root) { return; }
  var url = root.dataset.url;
  var interval = parseInt(root.dataset.interval, 10) || 10000;
  var lastScanId = null;
  var timer = null;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function pct(value) { return Number(value).toFixed(1); } // 50 → "50.0", as the page renders it

  function bar(percent, title) {
    var outer = el('div', null, 'eh-bar');
    if (title) { outer.title = title; }
    var inner = el('span');
    inner.style.width = Math.min(100, percent) + '%';
    outer.appendChild(inner);
    return outer;
  }

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node && node.textContent !== String(value)) {
      node.textContent = String(value);
      node.classList.remove('eh-flash');
      void node.offsetWidth; // restart the highlight animation
      node.classList.add('eh-flash');
    }
  }

  function fill(tbodyId, rows, makeRow, columns) {
    var tbody = document.getElementById(tbodyId);
    if (!tbody) { return; }
    var fragment = document.createDocumentFragment();
    if (!rows.length) {
      var tr = el('tr');
      var td = el('td', tbody.dataset.empty || '', 'text-muted');
      td.colSpan = columns;
      tr.appendChild(td);
      fragment.appendChild(tr);
    }
    rows.forEach(function (row) { fragment.appendChild(makeRow(row)); });
    tbody.replaceChildren(fragment);
  }

  function rateRow(row, key) {
    var tr = el('tr');
    if (key) { tr.dataset.key = key; }
    tr.appendChild(el('td', row.name || row.label));
    tr.appendChild(el('td', row.checked_in, 'text-end'));
    tr.appendChild(el('td', row.confirmed, 'text-end'));
    var td = el('td');
    td.appendChild(bar(row.percent, pct(row.percent) + '%'));
    td.appendChild(el('span', pct(row.percent) + '%', 'small'));
    tr.appendChild(td);
    return tr;
  }

  function person(row) {
    var td = el('td', row.name || row.ticket || '—', 'small');
    if (row.organisation) { td.appendChild(el('div', row.organisation, 'text-muted')); }
    return td;
  }

  function render(data) {
    setText('total-checked-in', data.totals.checked_in);
    setText('total-confirmed', data.totals.confirmed);
    setText('total-percent', pct(data.totals.percent));
    setText('total-scans', data.totals.scans);
    setText('repeat-scans', data.totals.repeat_scans);
    setText('conflict-count', data.totals.conflicts);
    document.getElementById('total-bar').style.width = Math.min(100, data.totals.percent) + '%';
    document.getElementById('updated-at').textContent = data.generated_local;

    fill('lists-body', data.lists, function (row) { return rateRow(row); }, 4);
    fill('org-body', data.org_types, function (row) { return rateRow(row, row.key); }, 4);
    fill('gates-body', data.gates, function (row) {
      var tr = el('tr');
      tr.appendChild(el('td', row.label));
      tr.appendChild(el('td', row.checkins, 'text-end'));
      tr.appendChild(el('td', row.people, 'text-end'));
      var td = el('td');
      td.appendChild(bar(row.bar));
      tr.appendChild(td);
      return tr;
    }, 4);
    fill('buckets-body', data.buckets, function (row) {
      var tr = el('tr');
      tr.dataset.start = row.start;
      tr.appendChild(el('td', row.label, 'text-nowrap'));
      tr.appendChild(el('td', row.checkins, 'text-end'));
      var td = el('td', null, 'w-50');
      td.appendChild(bar(row.bar));
      tr.appendChild(td);
      return tr;
    }, 3);
    var offline = root.dataset.textOffline;
    fill('scans-body', data.scans, function (row) {
      var tr = el('tr');
      tr.dataset.scan = row.id;
      var when = el('td', row.at_local, 'small text-nowrap');
      if (row.offline) { when.appendChild(document.createTextNode(' ')); when.appendChild(el('span', offline, 'badge text-bg-light border')); }
      tr.appendChild(when);
      var result = el('td');
      result.appendChild(el('span', row.result_label, 'badge text-bg-' + row.tone));
      tr.appendChild(result);
      tr.appendChild(person(row));
      tr.appendChild(el('td', row.gate || '—', 'small'));
      tr.appendChild(el('td', row.staff || '—', 'small'));
      tr.appendChild(el('td', row.list, 'small'));
      if (lastScanId !== null && row.id > lastScanId) { tr.classList.add('eh-flash'); }
      return tr;
    }, 6);
    if (data.scans.length) { lastScanId = data.scans[0].id; }
    fill('conflicts-body', data.conflicts, function (row) {
      var tr = el('tr');
      tr.dataset.scan = row.id;
      var kind = el('td');
      kind.appendChild(el('span', row.kind_label, 'badge text-bg-' + (row.kind === 'superseded' ? 'secondary' : 'warning')));
      tr.appendChild(kind);
      tr.appendChild(person(row));
      tr.appendChild(el('td', [row.at_local, row.gate || '—', row.staff || '—'].join(' · ') + (row.offline ? ' · ' + offline : ''), 'small'));
      tr.appendChild(el('td', row.kept ? [row.kept.at_local, row.kept.gate || '—', row.kept.staff || '—'].join(' · ') : '—', 'small'));
      return tr;
    }, 4);
  }

  function schedule() {
    timer = window.setTimeout(refresh, interval);
  }

  function refresh() {
    if (document.hidden) { schedule(); return; } // a background tab waits; visibilitychange refreshes at once
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(function (data) {
        render(data);
        root.dataset.refreshed = data.generated_at;
        root.classList.remove('opacity-50');
      })
      .catch(function () {
        root.classList.add('opacity-50');
        document.getElementById('updated-at').textContent = root.dataset.textError;
      })
      .then(schedule);
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) { window.clearTimeout(timer); refresh(); }
  });
  var firstId = document.querySelector('#scans-body tr[data-scan]');
  lastScanId = firstId ? parseInt(firstId.dataset.scan, 10) : null;
  schedule();
})();
