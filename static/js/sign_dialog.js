// Release page: Approve / Reject open the signing form in a modal <dialog>,
// focused on the password. Without this script (or without <dialog>) the
// links lead to the full signing page, which works the same way.
(function () {
  "use strict";
  if (typeof HTMLDialogElement === "undefined" || !window.fetch) return;

  function closeButton(dialog) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button small dialog-close";
    button.textContent = "Close";
    button.addEventListener("click", function () { dialog.close(); });
    return button;
  }

  function open(link, section) {
    var dialog = document.createElement("dialog");
    dialog.className = "sign-dialog";
    dialog.setAttribute("aria-labelledby", "h-sign");
    var described = section.getAttribute("aria-describedby");
    if (described) dialog.setAttribute("aria-describedby", described);
    section.classList.remove("card");
    dialog.appendChild(closeButton(dialog));
    dialog.appendChild(document.importNode(section, true));
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      dialog.remove();
      link.focus();
    });
    dialog.showModal();
    var first = dialog.querySelector("input[type=password]") ||
      dialog.querySelector("input:not([type=hidden]), textarea, .form-actions a");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-sign-dialog]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    fetch(link.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var section = page.querySelector(".signoff-dialog");
        if (!section) throw new Error("no form");
        // Signing at the identity provider leaves Relapp: the full page allows
        // that redirect (its Content-Security-Policy names the provider), this one does not.
        if (section.querySelector("[data-testid=sign-at-provider]")) throw new Error("at provider");
        open(link, section);
      })
      .catch(function () { window.location.href = link.href; });
  });
})();
