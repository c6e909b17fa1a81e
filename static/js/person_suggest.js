// Suggests people in a username field (the RACI editors' "Add person", a team's
// "Add a member") as one types (the field works without it: type the username).
// Fills the field's <datalist> from the server.
(function () {
  "use strict";
  document.querySelectorAll("input[data-person-suggest-url]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-person-suggest-url");
    var timer = null;
    var asked = "";
    if (!list || !url) return;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var text = input.value.trim();
        if (text.length < 1 || text === asked) return;
        asked = text;
        fetch(url + "?q=" + encodeURIComponent(text), { credentials: "same-origin" })
          .then(function (response) { return response.json(); })
          .then(function (data) {
            list.textContent = "";
            data.people.forEach(function (person) {
              var option = document.createElement("option");
              option.value = person.value;
              option.label = person.label;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are a convenience; typing still works */ });
      }, 200);
    });
  });
})();
