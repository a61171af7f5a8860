// A one-time sign-in link carries its secret after '#', which the browser never sends to a
// server: move it into the sign-in form, clear it from the address bar, and submit.
(function () {
  var secret = window.location.hash.slice(1);
  var form = document.getElementById("sign-in-form");
  if (!form || secret.indexOf("pwl_") !== 0) return;
  form.elements["link"].value = secret;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  form.submit();
})();
