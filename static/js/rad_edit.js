// RAD editor: add and remove table rows in place. Without this script the
// form still works: one blank row per table and a "Remove" checkbox per row.
(function () {
  "use strict";
  function enhanceRow(row) {
    var checkbox = row.querySelector(".row-remove input[type=checkbox]");
    var button = row.querySelector("[data-formset-remove]");
    if (!checkbox || !button) return;
    checkbox.closest("label").hidden = true;
    button.hidden = false;
    button.addEventListener("click", function () {
      checkbox.checked = true;
      row.hidden = true;
      var next = row.nextElementSibling || row.closest("[data-formset]").querySelector("[data-formset-add]");
      if (next) (next.querySelector("input, select, textarea, button") || next).focus();
    });
  }
  document.querySelectorAll("[data-formset]").forEach(function (formset) {
    var prefix = formset.dataset.formset;
    var total = formset.querySelector("#id_" + prefix + "-TOTAL_FORMS");
    var rows = formset.querySelector("[data-formset-rows]");
    var template = formset.querySelector("[data-formset-template]");
    var add = formset.querySelector("[data-formset-add]");
    rows.querySelectorAll(".formset-row").forEach(enhanceRow);
    add.hidden = false;
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var body = document.createElement("tbody");
      body.innerHTML = html.trim();
      var row = body.firstElementChild;
      rows.appendChild(row);
      total.value = String(index + 1);
      enhanceRow(row);
      var first = row.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  });
})();

// RAD editor: a Markdown preview per text field, rendered by the server with the
// reading view's renderer and sanitiser, and a draft of the whole form kept in
// this browser (localStorage, keyed by release and base revision) until a save
// goes through. Without this script the editor works as a plain form.
(function () {
  "use strict";
  var form = document.querySelector("form[data-rad-draft]");
  if (!form) return;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");

  // --- preview -------------------------------------------------------------
  (form.dataset.markdownFields || "").split(" ").forEach(function (name) {
    var area = form.querySelector("textarea[name=" + name + "]");
    if (!area) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button small preview-toggle";
    button.textContent = "Preview";
    button.setAttribute("aria-pressed", "false");
    button.dataset.previewFor = name;
    var preview = document.createElement("div");
    preview.className = "prose md-preview";
    preview.hidden = true;
    preview.setAttribute("aria-live", "polite");
    preview.setAttribute("data-preview", name);
    area.insertAdjacentElement("afterend", preview);
    preview.insertAdjacentElement("afterend", button);
    function showEditor() {
      preview.hidden = true;
      area.hidden = false;
      button.textContent = "Preview";
      button.setAttribute("aria-pressed", "false");
      area.focus();
    }
    button.addEventListener("click", function () {
      if (!preview.hidden) { showEditor(); return; }
      var body = new FormData();
      body.append("text", area.value);
      body.append("csrfmiddlewaretoken", csrf ? csrf.value : "");
      button.disabled = true;
      fetch(form.dataset.previewUrl, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        })
        .then(function (result) {
          if (result.ok) {
            preview.innerHTML = result.data.html || "<p>Nothing to preview yet.</p>";
          } else {
            var errors = (result.data.errors && result.data.errors.text) || [];
            preview.textContent = "No preview: " + (errors.length ? errors[0].message : "the server refused it.");
          }
        })
        .catch(function () { preview.textContent = "No preview: the server could not be reached."; })
        .then(function () {
          button.disabled = false;
          area.hidden = true;
          preview.hidden = false;
          button.textContent = "Edit";
          button.setAttribute("aria-pressed", "true");
        });
    });
  });

  // --- the draft in this browser ---------------------------------------------
  var store;
  try { store = window.localStorage; } catch (e) { return; }
  if (!store) return;
  var base = parseInt(form.dataset.base, 10) || 0;
  var prefix = "relapp.rad-draft." + form.dataset.radDraft + ".r";
  var key = prefix + base;
  var notice = document.querySelector("[data-draft-notice]");

  function fields() {
    var state = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "file" ||
          el.type === "submit" || el.type === "button") return;
      state[el.name] = el.type === "checkbox" ? el.checked : el.value;
    });
    return state;
  }
  function drafts() {
    var found = [];
    for (var i = 0; i < store.length; i++) {
      var name = store.key(i);
      if (name && name.indexOf(prefix) === 0) {
        try { found.push({ key: name, draft: JSON.parse(store.getItem(name)) }); } catch (e) { /* skip */ }
      }
    }
    return found;
  }
  function clearAll() { drafts().forEach(function (d) { store.removeItem(d.key); }); }
  function save() {
    try {
      store.setItem(key, JSON.stringify({ base: base, savedAt: new Date().toISOString(), fields: fields() }));
    } catch (e) { /* full or disabled: the form still works */ }
  }
  function apply(draft) {
    document.querySelectorAll("[data-formset]").forEach(function (formset) {
      var total = formset.querySelector("#id_" + formset.dataset.formset + "-TOTAL_FORMS");
      var wanted = parseInt(draft.fields[total.name], 10) || 0;
      var add = formset.querySelector("[data-formset-add]");
      while (parseInt(total.value, 10) < wanted) add.click();
    });
    Object.keys(draft.fields).forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (!el || el.length > 1 && !el.type) return;
      if (el.type === "checkbox") {
        el.checked = !!draft.fields[name];
        var row = el.closest(".row-remove") && el.closest(".formset-row");
        if (row) row.hidden = el.checked;
      } else {
        el.value = draft.fields[name];
      }
    });
  }
  function hhmm(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }
  function say(text, actions) {
    notice.textContent = text + " ";
    actions.forEach(function (action, index) {
      if (index) notice.appendChild(document.createTextNode(" — "));
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.textContent = action[0];
      button.addEventListener("click", action[1]);
      notice.appendChild(button);
    });
    notice.hidden = false;
  }
  function discard() {
    clearAll();
    notice.hidden = true;
    window.location.assign(window.location.pathname);  // the current revision, as the server has it
  }

  if (form.hasAttribute("data-just-saved")) {
    clearAll();  // the last save went through
  } else {
    var found = drafts();
    var same = found.filter(function (d) { return d.key === key; })[0];
    var older = found.filter(function (d) { return d.key !== key; })
      .sort(function (a, b) { return a.draft.savedAt < b.draft.savedAt ? 1 : -1; })[0];
    if (same && (form.hasAttribute("data-save-failed") ||
                 JSON.stringify(same.draft.fields) !== JSON.stringify(fields()))) {
      apply(same.draft);
      say("Restored your unsaved draft from " + hhmm(same.draft.savedAt) + ".", [["Discard", discard]]);
    } else if (!same && older) {
      notice.classList.replace("callout-info", "callout-warn");
      say("You have an unsaved draft from " + hhmm(older.draft.savedAt) + " based on revision " +
          older.draft.base + ", but revision " + base + " is current now, so it was not applied.",
          [["Restore it anyway", function () {
            apply(older.draft);
            store.removeItem(older.key);
            save();
            say("Restored your draft from " + hhmm(older.draft.savedAt) +
                " over revision " + base + ": check it against what changed.", [["Discard", discard]]);
          }], ["Discard", discard]]);
    }
  }
  var timer = null;
  function later() { clearTimeout(timer); timer = setTimeout(save, 400); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function () { clearTimeout(timer); save(); });
})();
