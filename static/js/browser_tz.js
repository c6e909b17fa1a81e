// The sign-in page tells Relapp the browser's time zone, used on the first sign-in only.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!zone) {
    return;
  }
  document.querySelectorAll("input[name='browser_tz']").forEach(function (input) {
    input.value = zone;
  });
  document.querySelectorAll("a[data-browser-tz]").forEach(function (link) {
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("tz", zone);
    link.href = url.toString();
  });
})();
