/* Road-show schedule: check a hand edit before saving.
 *
 * The edit form (#edit-form) works without this script — the server refuses hard conflicts. With
 * it, every change of the project or the target slot asks GET <data-check-url>?application_id=&slot_id=
 * (nothing is saved) and shows what would happen (move / swap / remove) with the conflicts; the
 * save button is disabled while the edit would be refused. "调整" links in the grid fill the form.
 * Texts come from the form's data-msg-* attributes (translated by the page).
 */
(function () {
  "use strict";

  var form = document.getElementById("edit-form");
  if (!form) { return; }
  var project = form.querySelector("select[name=application_id]");
  var slot = form.querySelector("select[name=slot_id]");
  var out = document.getElementById("edit-conflicts");
  var save = document.getElementById("edit-save");
  var seq = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  function show(data) {
    out.textContent = "";
    var head = data.action === "swap" ? form.dataset.msgSwap.replace("{name}", data["with"] || "")
      : data.action === "remove" ? form.dataset.msgRemove : form.dataset.msgMove;
    var errors = data.conflicts.filter(function (c) { return c.level === "error"; });
    var warnings = data.conflicts.filter(function (c) { return c.level !== "error"; });
    var box = el("div", "alert py-2 mb-0 " + (errors.length ? "alert-danger" : warnings.length ? "alert-warning" : "alert-success"));
    box.id = "check-result";
    box.dataset.ok = data.ok ? "1" : "0";
    box.appendChild(el("div", "", head + " " + (errors.length ? form.dataset.msgBlocked : warnings.length ? form.dataset.msgWarn : form.dataset.msgOk)));
    if (data.conflicts.length) {
      var list = el("ul", "mb-0");
      data.conflicts.forEach(function (c) {
        var item = el("li", "conflict conflict-" + c.level, c.message + (c.projects.length ? "（" + c.projects.join("、") + "）" : ""));
        item.dataset.code = c.code;
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    out.appendChild(box);
    save.disabled = !data.ok;
  }

  function check() {
    if (!project.value) { return; }
    var mine = ++seq;
    var url = form.dataset.checkUrl + "?application_id=" + encodeURIComponent(project.value) + "&slot_id=" + encodeURIComponent(slot.value);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === seq && !data.error) { show(data); } })
      .catch(function () {
        if (mine !== seq) { return; }
        out.textContent = "";
        out.appendChild(el("div", "text-muted", form.dataset.msgFailed));
        save.disabled = false;
      });
  }

  project.addEventListener("change", check);
  slot.addEventListener("change", check);
  document.querySelectorAll(".adjust-link[data-application]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      project.value = link.dataset.application;
      form.scrollIntoView({ behavior: "smooth", block: "center" });
      slot.focus();
      check();
    });
  });
})();
