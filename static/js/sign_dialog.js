// Release page: Approve / Reject open the signing form in a modal <dialog>,
// focused on the password. Without this script (or without <dialog>) the
// links lead to the full signing page, which works the same way.
// A refused signature (a wrong password, say) comes back into the same dialog
// with its one message, the password box focused and the comment kept.
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

  function signingSection(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var section = page.querySelector(".signoff-dialog");
    if (!section) throw new Error("no form");
    // Signing at the identity provider leaves Relapp: the full page allows
    // that redirect (its Content-Security-Policy names the provider), this one does not.
    if (section.querySelector("[data-testid=sign-at-provider]")) throw new Error("at provider");
    return section;
  }

  function focusFirst(dialog) {
    var first = dialog.querySelector("[aria-invalid=true]") ||
      dialog.querySelector("input[type=password]") ||
      dialog.querySelector("input:not([type=hidden]), textarea, .form-actions a");
    if (!first) return;
    first.focus();
    // On a small screen the message under the box must be in sight too.
    var error = dialog.querySelector(".field-error, .form-errors, [data-testid=not-ready]");
    if (error) error.scrollIntoView({ block: "nearest" });
  }

  function show(dialog, section) {
    var described = section.getAttribute("aria-describedby");
    if (described) dialog.setAttribute("aria-describedby", described);
    else dialog.removeAttribute("aria-describedby");
    section.classList.remove("card");
    var old = dialog.querySelector(".signoff-dialog");
    var copy = document.importNode(section, true);
    if (old) old.replaceWith(copy); else dialog.appendChild(copy);
    dialog.setAttribute("aria-busy", "false");
    focusFirst(dialog);
  }

  function submit(dialog, form, link) {
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    dialog.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("action") || link.href, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      // A redirect means the decision landed (or the release changed): the page
      // it leads to shows the outcome, so let the browser go there itself.
      redirect: "manual",
    })
      .then(function (response) {
        if (response.type === "opaqueredirect") {
          history.replaceState(null, "", window.location.pathname + window.location.search + "#approvals");
          window.location.reload();
          return null;
        }
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        if (html !== null) show(dialog, signingSection(html));
      })
      .catch(function () { window.location.href = link.href; });
  }

  function open(link, section) {
    var dialog = document.createElement("dialog");
    dialog.className = "sign-dialog";
    dialog.setAttribute("aria-labelledby", "h-sign");
    dialog.appendChild(closeButton(dialog));
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      dialog.remove();
      link.focus();
    });
    dialog.addEventListener("submit", function (event) {
      if (event.target.getAttribute("method") !== "post") return;
      event.preventDefault();
      submit(dialog, event.target, link);
    });
    dialog.showModal();
    show(dialog, section);
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
      .then(function (html) { open(link, signingSection(html)); })
      .catch(function () { window.location.href = link.href; });
  });
})();

// Release page: the RAD sections and the contents are <details>, open in the
// HTML. On a phone they start folded; following a contents link unfolds its section.
(function () {
  "use strict";
  var phone = window.matchMedia && window.matchMedia("(max-width: 720px)").matches;
  if (phone) {
    document.querySelectorAll(".release-toc details, .rad-details").forEach(function (d) {
      d.open = false;
    });
  }

  function unfold(event, fragment) {
    var id = fragment || decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    var details = target.matches("details") ? target : target.querySelector("details.rad-details");
    for (var d = details || target.closest("details"); d; d = d.parentElement.closest("details")) {
      d.open = true;
    }
    if (details) target.scrollIntoView();
  }
  window.addEventListener("hashchange", unfold);
  // A link to a section of this page unfolds it at once (hashchange comes a task
  // later, and not at all when the address already ends in the same fragment).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#"]');
    if (link && link.getAttribute("href").length > 1) {
      unfold(event, decodeURIComponent(link.getAttribute("href").slice(1)));
    }
  });
  unfold();
})();
