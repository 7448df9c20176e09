/* 字数 counter: exactly the rules of eventhub/core/wordcount.py (DESIGN.md §3).
 *
 * Each CJK character or full-width punctuation mark counts 1, each run of Latin letters and
 * digits counts 1, white space counts 0, an emoji (with its modifiers, ZWJ sequences, flags)
 * counts 1, any other symbol counts 1. Both counters are tested against
 * tests/data/zishu_cases.json (Python and Chromium), so they never disagree.
 *
 * Usage: <textarea data-zishu-target="#out" data-zishu-min="300" data-zishu-max="1000"
 *        data-zishu-goal="800">; window.countZishu(text) is also exported.
 */
(function () {
  "use strict";

  // Python's str.isspace(), code point by code point.
  var SPACE = new Set([
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
    0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ]);

  function isSpace(cp) { return SPACE.has(cp); }

  // [0-9A-Za-z\u00C0-\u024F]
  function isLatin(cp) {
    return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) ||
      (cp >= 0xc0 && cp <= 0x24f);
  }

  function isCombining(cp) { return cp >= 0x300 && cp <= 0x36f; }

  // ' ’ - . inside a run ("don't", "COVID-19", "3.5")
  function isInnerSeparator(cp) { return cp === 0x27 || cp === 0x2019 || cp === 0x2d || cp === 0x2e; }

  // [\u200d\ufe0e\ufe0f\u0300-\u036f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]
  function isJoiner(cp) {
    return cp === 0x200d || cp === 0xfe0e || cp === 0xfe0f || isCombining(cp) || cp === 0x20e3 ||
      (cp >= 0x1f3fb && cp <= 0x1f3ff) || (cp >= 0xe0020 && cp <= 0xe007f);
  }

  function isRegionalIndicator(cp) { return cp >= 0x1f1e6 && cp <= 0x1f1ff; }

  // One Latin letter with any combining accents: end index, or -1.
  function latinChar(cps, i) {
    if (i >= cps.length || !isLatin(cps[i])) return -1;
    var j = i + 1;
    while (j < cps.length && isCombining(cps[j])) j++;
    return j;
  }

  // (?:C)+(?:['’\-.](?:C)+)* from i: end index, or -1.
  function latinRun(cps, i) {
    var j = latinChar(cps, i);
    if (j < 0) return -1;
    var k;
    while ((k = latinChar(cps, j)) >= 0) j = k;
    while (j < cps.length && isInnerSeparator(cps[j]) && latinChar(cps, j + 1) >= 0) {
      j = latinChar(cps, j + 1);
      while ((k = latinChar(cps, j)) >= 0) j = k;
    }
    return j;
  }

  function countZishu(text) {
    if (!text) return 0;
    var cps = [];
    for (var ch of String(text)) cps.push(ch.codePointAt(0));
    var n = cps.length;
    var total = 0;
    var i = 0;
    while (i < n) {
      var cp = cps[i];
      if (isSpace(cp)) { i++; continue; }
      var end = latinRun(cps, i);
      if (end >= 0) {
        total++;
        i = end;
        while (i < n && isJoiner(cps[i])) i++; // keycaps: "1️⃣" is one emoji
        continue;
      }
      total++;
      i++;
      while (i < n && (isJoiner(cps[i]) || (cps[i - 1] === 0x200d && !isSpace(cps[i])))) i++;
      if (isRegionalIndicator(cp) && i < n && isRegionalIndicator(cps[i])) i++; // a flag
    }
    return total;
  }

  function describe(count, el) {
    var min = parseInt(el.dataset.zishuMin || "", 10);
    var max = parseInt(el.dataset.zishuMax || "", 10);
    var goal = parseInt(el.dataset.zishuGoal || "", 10);
    var t = window.EVENTHUB_ZISHU_TEXT || {};
    var parts = [(t.count || "字数：{n}").replace("{n}", count)];
    if (!isNaN(goal)) parts.push((t.goal || "目标约 {n} 字").replace("{n}", goal));
    if (!isNaN(min) && !isNaN(max)) parts.push((t.range || "要求 {min}–{max} 字").replace("{min}", min).replace("{max}", max));
    var state = "ok";
    if (!isNaN(min) && count < min) { state = "low"; parts.push((t.low || "还差 {n} 字").replace("{n}", min - count)); }
    if (!isNaN(max) && count > max) { state = "high"; parts.push((t.high || "超出 {n} 字").replace("{n}", count - max)); }
    return { text: parts.join(" · "), state: state };
  }

  function attach(el) {
    var out = document.querySelector(el.dataset.zishuTarget);
    if (!out) return;
    function update() {
      var count = countZishu(el.value);
      var d = describe(count, el);
      out.textContent = d.text;
      out.dataset.count = String(count);
      out.dataset.state = d.state;
      out.classList.toggle("text-danger", d.state !== "ok");
      out.classList.toggle("text-success", d.state === "ok");
    }
    el.addEventListener("input", update);
    update();
  }

  window.countZishu = countZishu;
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-zishu-target]").forEach(attach);
  });
})();
