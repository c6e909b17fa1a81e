// Suggests releases in a release filter as one types (the field works without it:
// type "<product> <version>"). Fills the field's <datalist> from the server.
(function () {
  "use strict";
  document.querySelectorAll("input[data-suggest-url]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-suggest-url");
    var timer = null;
    var asked = "";
    if (!list) return;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var text = input.value.trim();
        if (text.length < 2 || text === asked) return;
        asked = text;
        fetch(url + "?q=" + encodeURIComponent(text), { credentials: "same-origin" })
          .then(function (response) { return response.json(); })
          .then(function (data) {
            list.textContent = "";
            data.releases.forEach(function (release) {
              var option = document.createElement("option");
              option.value = release.value;
              option.label = release.label;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are a convenience; typing still works */ });
      }, 200);
    });
  });
})();
