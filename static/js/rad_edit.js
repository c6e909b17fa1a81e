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
